"""A group's archive: for its members by their signed link, for staff by the group's page."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mmooc.audit.log import record
from mmooc.groups.models import Membership, StudyGroup
from mmooc.learners import registration
from mmooc.learners.forms import AddressForm
from mmooc.lib.languages import activate_for
from mmooc.lib.paging import other_params
from mmooc.lib.staff import is_staff_member, staff_required
from mmooc.lists import threads
from mmooc.lists.links import read_archive_token, send_archive_link
from mmooc.lists.models import Post, Refusal

RECENT_REFUSALS = 20
SEARCH_LENGTH = 200


class ArchiveForm(forms.Form):
    page = forms.IntegerField(required=False, min_value=1,
                              error_messages={"invalid": gettext_lazy("The page must be a whole number."),
                                              "min_value": gettext_lazy("The page must be 1 or more.")})
    q = forms.CharField(required=False, max_length=SEARCH_LENGTH, error_messages={
        "max_length": gettext_lazy("Search for at most %(limit_value)d characters."),
        "null_characters_not_allowed": gettext_lazy("The search cannot contain a null character.")})


class VisibilityForm(forms.Form):
    hidden = forms.TypedChoiceField(choices=[("1", "hide"), ("0", "show")], coerce=lambda v: v == "1",
                                    error_messages={"required": "Say whether to hide or show the post.",
                                                    "invalid_choice": "Say whether to hide or show the post."})


def _render_archive(request: HttpRequest, group: StudyGroup, posts: QuerySet[Post], template: str,
                    thread_url: Callable[[int], str], **extra: Any) -> HttpResponse:
    """The list of threads, or with `q` the posts that hold those words; paged."""
    form = ArchiveForm(request.GET)
    ctx = {"group": group, "form": form, "threads": [], "results": [], "page": None, "words": "", **extra}
    if not form.is_valid():
        return render(request, template, ctx, status=400)
    number, words = form.cleaned_data["page"] or 1, form.cleaned_data["q"]
    if words:
        page = threads.results_page(posts, words, number)
        results = [{"post": p, "url": f"{thread_url(p.pk)}#post-{p.pk}", "excerpt": threads.excerpt(p.text, words)}
                   for p in page.object_list]
        ctx.update(results=results, words=words)
    else:
        page, listed = threads.threads_page(posts, number)
        for thread in listed:
            thread["url"] = thread_url(thread["key"])
        ctx["threads"] = listed
    ctx.update(page=page, query=other_params(request))
    return render(request, template, ctx)


def _render_thread(request: HttpRequest, group: StudyGroup, posts: QuerySet[Post], key: int, template: str,
                   **extra: Any) -> HttpResponse:
    shown = threads.thread_posts(posts, key)
    if not shown:
        raise Http404("No such thread in this group's archive.")
    ctx = {"group": group, "posts": shown, "subject": shown[0].subject,
           "reply_subject": threads.reply_subject(shown[0].subject), **extra}
    return render(request, template, ctx)


def _member(token: str) -> tuple[Membership, bool] | None:
    """The membership a member's archive link opens, and whether its group is closed."""
    try:
        group_id, learner_id = read_archive_token(token)
    except Http404:
        return None
    membership = (Membership.objects.active().select_related("group", "learner")
                  .filter(group__public_id=group_id, learner__public_id=learner_id).first())
    if membership is not None:
        return membership, False
    past = _moved_from_closed_group(group_id, learner_id)
    return None if past is None else (past, True)


@require_GET
def archive(request: HttpRequest, token: str) -> HttpResponse:
    """A member's view of their group's archive, by the signed link from their learner page."""
    found = _member(token)
    if found is None:
        return render(request, "lists/invalid_link.html", status=404)
    membership, closed = found
    activate_for(request, membership.learner.language)
    posts = Post.objects.visible().filter(group=membership.group)
    return _render_archive(request, membership.group, posts, "lists/archive.html",
                           lambda key: reverse("lists:archive_thread", args=[token, key]),
                           learner=membership.learner, closed=closed, token=token)


@require_GET
def archive_thread(request: HttpRequest, token: str, post_id: int) -> HttpResponse:
    """One thread of a member's group archive, its posts in order."""
    found = _member(token)
    if found is None:
        return render(request, "lists/invalid_link.html", status=404)
    membership, closed = found
    activate_for(request, membership.learner.language)
    posts = Post.objects.visible().filter(group=membership.group)
    return _render_thread(request, membership.group, posts, post_id, "lists/archive_thread.html",
                          learner=membership.learner, closed=closed, token=token)


SAME_ANSWER = gettext_lazy("If this address belongs to a member of the group, a message with the link to "
                           "its archive is on its way. It may take a few minutes.")


def _link_by_email(request: HttpRequest, group: StudyGroup) -> HttpResponse:
    """The archive's door for members: type the address you signed up with, get your link.
    The same answer whether or not the address is a member's; at most a few a day per address."""
    form = AddressForm(request.POST or None)
    ctx: dict[str, Any] = {"group": group, "form": form}
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "lists/members_only.html", ctx, status=400)
        address = form.cleaned_data["email"]
        if not form.data.get("website") and not registration.rate_limited("archive", address):
            send_archive_link(group, address)
        ctx["done"] = SAME_ANSWER
    return render(request, "lists/members_only.html", ctx)


def _moved_from_closed_group(group_id: uuid.UUID, learner_id: uuid.UUID) -> Membership | None:
    """A former member of a group nobody is in any more (merged into another), now in another
    group: the archive of what they wrote together stays theirs to read."""
    past = (Membership.objects.select_related("group", "learner").filter(
        group__public_id=group_id, learner__public_id=learner_id, left_at__isnull=False).first())
    if past is None or Membership.objects.active().filter(group=past.group).exists():
        return None
    return past if Membership.objects.active().filter(learner=past.learner).exists() else None


@require_http_methods(["GET", "POST"])
def group_archive(request: HttpRequest, public_id: str) -> HttpResponse:
    """The group's page (its List-Archive): the whole archive for staff; for anyone else a form
    that mails a member of the group the link to their own view of it."""
    group = get_object_or_404(StudyGroup.objects.select_related("cohort__course"), public_id=public_id)
    if request.method == "POST" or not is_staff_member(request.user):
        return _link_by_email(request, group)
    refusals = Refusal.objects.filter(group=group)[:RECENT_REFUSALS]
    return _render_archive(request, group, Post.objects.filter(group=group), "lists/staff_archive.html",
                           lambda key: reverse("lists:group_thread", args=[group.public_id, key]),
                           refusals=refusals)


@require_GET
@staff_required
def group_thread(request: HttpRequest, public_id: str, post_id: int) -> HttpResponse:
    """One thread for staff, hidden and held posts included, each with its Hide/Show button."""
    group = get_object_or_404(StudyGroup.objects.select_related("cohort__course"), public_id=public_id)
    return _render_thread(request, group, Post.objects.filter(group=group), post_id, "lists/staff_thread.html")


@require_POST
@staff_required
def post_visibility(request: HttpRequest, public_id: str, post_id: int) -> HttpResponse:
    """Hide a post from the archive and digests, or show it again; recorded in the audit log."""
    group = get_object_or_404(StudyGroup, public_id=public_id)
    post = get_object_or_404(Post, pk=post_id, group=group)
    form = VisibilityForm(request.POST)
    if not form.is_valid():
        ctx = {"reason": " ".join(map(str, form.errors["hidden"])), "back_text": f"Back to the {group.name} archive",
               "back_url": reverse("lists:group_archive", kwargs={"public_id": group.public_id})}
        return render(request, "dashboard/refused.html", ctx, status=400)
    hidden = form.cleaned_data["hidden"]
    with transaction.atomic():
        Post.objects.filter(pk=post.pk).update(hidden=hidden)
        record(request.user, "post.hidden" if hidden else "post.shown", post,
               f"{'Hid' if hidden else 'Showed again'} “{post.subject[:80]}” by {post.author_name} "
               f"in {group.name}", group=group.address, message_id=post.message_id)
    messages.success(request, "The post is hidden from the archive." if hidden else "The post is shown again.")
    return redirect(reverse("lists:group_thread", args=[group.public_id, post.pk]) + f"#post-{post.pk}")
