"""Staff roles: organizers run cohorts; facilitators see and moderate the study groups they facilitate.

Roles are Django auth groups named "organizer" and "facilitator"; a superuser is an organizer.
Which cohorts and groups a staff member sees is decided by their assignments
(`courses.access`, `groups.access`; docs/roles.md): an organizer assigned to no cohort, and a
superuser, is site-wide — the only kind of staff member who opens the pages about every
cohort at once (`sitewide_required`: outbox, suppressions, webhooks, API tokens, audit log).
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
    # Read once per user object (a request's user is loaded afresh for each request): every
    # page asks several times, for its decorator, its cohorts and its buttons.
    names = getattr(user, "_staff_group_names", None)
    if names is None:
        names = {g.name for g in user.groups.all()}
        user._staff_group_names = names
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


# Whether an organizer is limited to some cohorts: the courses app, which keeps the assignments, answers.
_limited: list[Callable[[Any], bool]] = [lambda user: False]


def set_limited(predicate: Callable[[Any], bool]) -> None:
    _limited[0] = predicate


def is_sitewide(user: Any) -> bool:
    """A superuser, or an organizer assigned to no cohort."""
    if not is_organizer(user):
        return False
    if user.is_superuser:
        return True
    limited = getattr(user, "_staff_limited", None)  # once per user object, as the role
    if limited is None:
        limited = user._staff_limited = _limited[0](user)
    return not limited


def sitewide_required(view: View) -> View:
    """Site-wide organizers only: pages about every cohort at once. Anyone else signed in gets 403."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not is_sitewide(request.user):
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
            "is_organizer": organizer, "can_see_cost": organizer, "is_sitewide": is_sitewide(request.user)}
