""""This is also me": the pages a held post's notice and the member's email link to.

The notice's page asks for the address the sender signed up with and answers the same
whatever it is; only a member's known address gets the link and the code. Opening a link
changes nothing: adding the address is a POST from a page with a button (or with the code).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from django import forms
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from mmooc.learners import lifecycle
from mmooc.learners.models import Learner, email_key
from mmooc.lib.languages import activate_for
from mmooc.lists import aliases
from mmooc.lists.models import Post
from mmooc.operations import ratelimits

SAME_ANSWER = gettext_lazy("If {address} belongs to a member of {group}, we have sent it an email with a link "
                           "and a code. Open the link, or type the code here.")
WRONG_CODE = gettext_lazy("That code is not right. Check the email and try again.")
TOO_MANY = gettext_lazy("Too many tries. Wait an hour, then ask for a new code.")


class AddressForm(forms.Form):
    email = forms.EmailField(max_length=254, label=gettext_lazy("The address you signed up with"))


class CodeForm(forms.Form):
    pending = forms.CharField(max_length=2000, widget=forms.HiddenInput)
    code = forms.RegexField(regex=r"^\s*\d{6}\s*$", max_length=20, label=gettext_lazy("Code"),
                            error_messages={"invalid": gettext_lazy("The code is six digits.")})


def _page(request: HttpRequest, ctx: dict[str, Any], status: int = 200) -> HttpResponse:
    return render(request, "lists/also_me.html", ctx, status=status)


def _invalid(request: HttpRequest, why: str) -> HttpResponse:
    return _page(request, {"invalid": why}, status=404)


@require_http_methods(["GET", "POST"])
@never_cache
def also_me(request: HttpRequest, token: str) -> HttpResponse:
    """The notice's link: ask for the member's address (then for the code sent to it)."""
    try:
        post, address = aliases.read_claim(token)
    except aliases.InvalidClaim as exc:
        return _invalid(request, str(exc))
    ctx: dict[str, Any] = {"post": post, "group": post.group, "address": address,
                           "form": AddressForm(), "code_form": None}
    if request.method == "GET":
        return _page(request, ctx)
    if "code" in request.POST:
        return _check_code(request, ctx)
    form = AddressForm(request.POST)
    ctx["form"] = form
    if not form.is_valid():
        return _page(request, ctx, status=400)
    if ratelimits.hit(f"also-me:send:{post.pk}", 3600)[0] > aliases.SENDS_PER_HOUR:
        ctx["error"] = TOO_MANY
        return _page(request, ctx, status=429)
    typed = form.cleaned_data["email"]
    pending = aliases.pending_token(post, address, typed)
    member = aliases.member_of(post.group, typed)
    # However many held posts ask, one member's mailbox gets a few codes a day: no mail bomb.
    flooded = ratelimits.hit(f"also-me:to:{email_key(typed)}", 86400)[0] > aliases.CODES_PER_DAY
    if member is not None and not flooded and not lifecycle.alias_refusal(member, address):
        with transaction.atomic():
            aliases.send_code(post, address, member, pending)
    ctx["sent"] = SAME_ANSWER.format(address=typed, group=post.group.name)
    ctx["code_form"] = CodeForm(initial={"pending": pending})
    return _page(request, ctx)


def _check_code(request: HttpRequest, ctx: dict[str, Any]) -> HttpResponse:
    form = CodeForm(request.POST)
    ctx["code_form"] = form
    if not form.is_valid():
        return _page(request, ctx, status=400)
    pending = form.cleaned_data["pending"]
    try:
        post, address, member_key = aliases.read_pending(pending)
    except aliases.InvalidClaim as exc:
        return _invalid(request, str(exc))
    if post.pk != ctx["post"].pk or address != ctx["address"]:
        return _invalid(request, _("This link is not valid or has expired."))
    tries = ratelimits.hit("also-me:code:" + hashlib.sha256(pending.encode()).hexdigest(), 3600)[0]
    if tries > aliases.CODE_TRIES:
        ctx["error"] = TOO_MANY
        return _page(request, ctx, status=429)
    member = aliases.member_of(post.group, member_key)
    expected = aliases.code_for(pending, member) if member is not None else "-"
    if member is None or not hmac.compare_digest(form.cleaned_data["code"].strip(), expected):
        form.add_error("code", WRONG_CODE)
        return _page(request, ctx, status=400)
    return _confirm(request, ctx, member, address, via="code")


def _confirm(request: HttpRequest, ctx: dict[str, Any], member: Learner, address: str, via: str) -> HttpResponse:
    """Add the alias and release what it sent, in one transaction."""
    try:
        with transaction.atomic():
            lifecycle.add_alias(member, address, via=via)
            ctx["released"] = aliases.release(member, address)
    except lifecycle.Refused as refused:
        ctx["error"] = str(refused)
        return _page(request, ctx, status=400)
    ctx["done"] = True
    return _page(request, ctx)


@require_http_methods(["GET", "POST"])
@never_cache
def also_me_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the member's email: a GET asks, the POST adds the address."""
    try:
        post, address, member = aliases.read_confirm(token)
    except aliases.InvalidClaim as exc:
        return _invalid(request, str(exc))
    activate_for(request, member.language)  # the member's own email led here
    ctx: dict[str, Any] = {"post": post, "group": post.group, "address": address, "confirming": True}
    if not aliases.is_member(post.group, member):
        return _invalid(request, _("This link is not valid or has expired."))
    if request.method == "GET":
        ctx["done"] = post.author_id == member.pk  # opened again after confirming
        return _page(request, ctx)
    if not _was_held_or_is_theirs(post, member, address):
        return _invalid(request, _("This message is no longer waiting: it was deleted after {days} days.").format(
            days=aliases.HOLD_DAYS))
    return _confirm(request, ctx, member, address, via="link")


def _was_held_or_is_theirs(post: Post, member: Learner, address: str) -> bool:
    """Still waiting, or already sent as this member's (a second press changes nothing)."""
    return (post.held and post.held_reason == aliases.UNKNOWN_SENDER) or post.author_id == member.pk
