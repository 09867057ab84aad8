"""Paged lists: the query the pager's links keep (the pager itself is templates/_pager.html)."""

from __future__ import annotations

from django.http import HttpRequest


def other_params(request: HttpRequest) -> str:
    """The request's query parameters but its page number, urlencoded, for the pager's links."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()
