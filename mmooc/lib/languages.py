"""The languages pages and built-in emails speak, and which one a learner or visitor gets.

A learner chooses among many languages (groups are formed per language); the pages and
built-in emails are translated into fewer of them (settings.LANGUAGES). A learner's
language maps to the closest translated one ("pt" reads "pt-br"), else to the default.

    with languages.speaking(learner.language):
        subject = gettext("Please confirm your place in {{ course_title }}")
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from functools import wraps
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header

P = ParamSpec("P")
R = TypeVar("R")


def ui_language(code: str) -> str:
    """The translated language closest to a learner's language code (e.g. "pt" -> "pt-br")."""
    if code:
        try:
            return translation.get_supported_language_variant(code.strip().lower())
        except LookupError:
            pass
    return settings.LANGUAGE_CODE


def speaking(code: str) -> AbstractContextManager[None]:
    """Activate the translated language closest to `code` for the block (pages or mail)."""
    return translation.override(ui_language(code))


def preferred(accept_language: str, offered: Iterable[str], default: str = "en") -> str:
    """The first of `offered` that an Accept-Language header asks for, by its q values."""
    offered = list(offered)
    lowered = {code.lower(): code for code in offered}
    for tag, _q in parse_accept_lang_header(accept_language[:1000]):
        tag = tag.lower()
        for candidate in (tag, tag.split("-")[0]):
            if candidate in lowered:
                return lowered[candidate]
    return default


def in_default_language(function: Callable[P, R]) -> Callable[P, R]:
    """Run `function` in the default language, whatever the request's: for what is written once
    for everyone (a course email, its dates), so a visitor's browser language cannot leak into it."""

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with translation.override(settings.LANGUAGE_CODE):
            return function(*args, **kwargs)

    return wrapper


def content_language() -> dict[str, str]:
    """The Content-Language header (RFC 3282) of mail written in the active language, when it is
    not the default: the mail engine writes that message's footer in the same language."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    return {} if language == settings.LANGUAGE_CODE else {"Content-Language": language}


def activate_for(request: HttpRequest, code: str) -> None:
    """Answer this request in a learner's own language, whatever the browser asked for."""
    language = ui_language(code)
    translation.activate(language)
    request.LANGUAGE_CODE = language
