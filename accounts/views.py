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
    """Failed sign-ins are limited per username and address (accounts/throttle.py); successes are free."""

    template_name = "accounts/login.html"

    def _who(self) -> tuple[str, str]:
        return throttle.client_address(self.request), str(self.request.POST.get("username", ""))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if throttle.sign_in_refused(*self._who()):
            form = self.get_form()
            form.add_error(None, "Too many failed sign-in attempts. Please wait a minute and try again.")
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(throttle.WINDOW_SECONDS)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        throttle.sign_in_failed(*self._who())
        return super().form_invalid(form)


class ThrottledPasswordResetView(auth_views.PasswordResetView):
    """Django's password reset (an emailed link); requests are limited per address, so the form cannot be
    used to flood someone's inbox."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = f"password-reset:{throttle.client_address(request)}"
        if not throttle.hit(key, throttle.per_minute("login"), throttle.WINDOW_SECONDS):
            form = self.get_form()
            form.add_error(None, "Too many reset requests. Please wait a minute and try again.")
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
    replaced, _ = Token.objects.filter(user=_user(request)).delete()
    Token.objects.create(user=_user(request))
    if replaced:
        messages.success(request, "A new API token was created; the old one no longer works.")
    else:
        messages.success(request, "Your API token was created.")
    return redirect("profile")
