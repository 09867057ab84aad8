"""Staff roles: organizers do everything; facilitators read everything and moderate groups.

Roles are Django auth groups named "organizer" and "facilitator"; a superuser is an organizer.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

ORGANIZER, FACILITATOR = "organizer", "facilitator"


def role(user: Any) -> str | None:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return ORGANIZER
    names = {g.name for g in user.groups.all()}
    if ORGANIZER in names:
        return ORGANIZER
    if FACILITATOR in names:
        return FACILITATOR
    return None


def is_organizer(user: Any) -> bool:
    return role(user) == ORGANIZER


def is_staff_member(user: Any) -> bool:
    return role(user) is not None


View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def staff_required(view: View) -> View:
    """Organizers and facilitators; anyone else signed in gets 403."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not is_staff_member(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return cast(View, wrapper)


def organizer_required(view: View) -> View:
    """Organizers only: sending, exports of personal data, grouping, suppression changes."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not is_organizer(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return cast(View, wrapper)


def staff_user(request: HttpRequest) -> User:
    """The signed-in staff member, in a view behind `staff_required` or `organizer_required`."""
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


def powers(request: HttpRequest) -> dict[str, bool]:
    """What the signed-in staff member may do, for templates to show or hide buttons."""
    organizer = is_organizer(request.user)
    return {"can_send": organizer, "can_export": organizer, "can_moderate": True,
            "is_organizer": organizer}
