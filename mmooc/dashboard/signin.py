"""Staff sign-in with a limit on failed attempts, per username and per address.

Failures are counted in the database (mmooc.operations.ratelimits), so every process and
machine sees the same counts; the address is the client's, as mmooc.lib.clients finds it
behind a trusted proxy. Once a limit is reached the form answers "too many attempts"
without checking the password, so guessing costs the attacker the rest of the window,
which opens at the first failure.
"""

from __future__ import annotations

import math
from typing import Any

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse

from mmooc.lib.clients import client_address
from mmooc.operations import ratelimits

WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_USERNAME = 5
# Higher, so a shared office or campus address is not locked out by one person's typos.
MAX_FAILURES_PER_ADDRESS = 20


def _keys(request: HttpRequest | None, username: str) -> list[tuple[str, int]]:
    address = client_address(request) if request is not None else ""
    return [(f"signin-fail:user:{username.strip().lower()[:150]}", MAX_FAILURES_PER_USERNAME),
            (f"signin-fail:addr:{address}", MAX_FAILURES_PER_ADDRESS)]


def seconds_locked(request: HttpRequest | None, username: str) -> int:
    """How long until another attempt is allowed; 0 when one is allowed now."""
    wait = 0.0
    for key, limit in _keys(request, username):
        failures, left = ratelimits.peek(key)
        if failures >= limit:
            wait = max(wait, left)
    return math.ceil(wait)


def record_failure(request: HttpRequest | None, username: str) -> None:
    for key, _limit in _keys(request, username):
        ratelimits.hit(key, WINDOW_SECONDS)


def clear_failures(request: HttpRequest | None, username: str) -> None:
    ratelimits.clear(_keys(request, username)[0][0])


class SignInForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That username and password do not match a staff account. Check both and try again.",
        "rate_limited": "Too many failed attempts. Try again in %(minutes)s minute%(plural)s.",
    }

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        self.rate_limited = False
        wait = seconds_locked(self.request, username)
        if wait:
            self.rate_limited = True
            minutes = max(1, math.ceil(wait / 60))
            raise forms.ValidationError(self.error_messages["rate_limited"], code="rate_limited",
                                        params={"minutes": minutes, "plural": "" if minutes == 1 else "s"})
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            record_failure(self.request, username)
            raise
        clear_failures(self.request, username)
        return cleaned


class SignInView(auth_views.LoginView):
    """Django's LoginView; a refused sign-in answers 400, or 429 once rate-limited."""

    template_name = "dashboard/login.html"
    authentication_form = SignInForm

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        response.status_code = 429 if getattr(form, "rate_limited", False) else 400
        return response


login = SignInView.as_view()
logout = auth_views.LogoutView.as_view(next_page="/dashboard/login/")
