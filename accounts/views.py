from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from . import throttle
from .forms import PreferencesForm, SignUpForm
from .models import User

LOGIN_ATTEMPTS_PER_MINUTE = throttle.per_minute("login")


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("photos:home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user)
        messages.success(request, "Welcome to Photophone. Upload a photo to hear what fits it.")
        return redirect("photos:home")
    return render(request, "accounts/signup.html", {"form": form})


class ThrottledLoginView(auth_views.LoginView):
    template_name = "accounts/login.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        ip = request.META.get("REMOTE_ADDR", "unknown")
        if not throttle.hit(f"login:{ip}", LOGIN_ATTEMPTS_PER_MINUTE, 60):
            form = self.get_form()
            form.add_error(None, "Too many sign-in attempts. Please wait a minute and try again.")
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # login_required runs first
    return request.user


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    form = PreferencesForm(request.POST or None, instance=_user(request))
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Preferences saved.")
        return redirect("profile")
    token = Token.objects.filter(user=_user(request)).first()
    return render(request, "accounts/profile.html", {"form": form, "token": token})


@login_required
@require_POST
def regenerate_token(request: HttpRequest) -> HttpResponse:
    Token.objects.filter(user=_user(request)).delete()
    Token.objects.create(user=_user(request))
    messages.success(request, "A new API token was created; the old one no longer works.")
    return redirect("profile")
