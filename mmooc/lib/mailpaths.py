"""The site paths that mail made by `mmooc lmtp` and `mmooc worker` names, written out.

    mailpaths.path("lists:group_archive", group.public_id)  →  "/groups/<public id>/"

reverse() would import the whole URL configuration (every view, form and admin page: about
400 modules, 20–30 MB in each process) into processes that serve no page, for a handful of
links. Each path here is what reverse() gives for the same view name and arguments, script
prefix included; mmooc/lists/tests/test_mailpaths.py checks every one against reverse().
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.urls import get_script_prefix
from django.utils.http import RFC3986_SUBDELIMS

# The view's name → its path under the script prefix, `{}` for each argument in order.
PATHS = {
    "lists:group_archive": "groups/{}/",
    "lists:archive": "groups/archive/{}/",
    "learners:send_link": "me/",
    "learners:confirm": "c/{}",
    "learners:page": "me/{}",
    "learners:unsubscribe": "u/{}",
}

# As reverse() quotes a path (django.urls.resolvers).
_SAFE = RFC3986_SUBDELIMS + "/~:@"


def path(view: str, *args: Any) -> str:
    """The path of `view` with `args`; KeyError for a view not listed here."""
    return quote(get_script_prefix() + PATHS[view].format(*(str(a) for a in args)), safe=_SAFE)
