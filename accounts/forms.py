from django import forms
from django.contrib.auth.forms import UserCreationForm

from .models import User


class SignUpForm(UserCreationForm[User]):
    email = forms.EmailField(required=False)

    class Meta:
        model = User
        fields = ("username", "email")


class PreferencesForm(forms.ModelForm[User]):
    class Meta:
        model = User
        fields = ("email", "default_mode")
