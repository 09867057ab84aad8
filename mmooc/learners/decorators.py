from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mmooc.learners.links import InvalidLink


def signed_link(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A bad learner link answers 404 with a page that says so plainly, and changes nothing."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except InvalidLink:
            return render(request, "learners/invalid_link.html", status=404)

    return wrapper
