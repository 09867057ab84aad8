"""A group's archive: for its members by their signed link, for staff by the group's page."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Count, Max, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from mmooc.audit.log import record
from mmooc.groups.models import Membership, StudyGroup
from mmooc.lib.languages import activate_for
from mmooc.lib.paging import other_params
from mmooc.lib.staff import is_staff_member, staff_required
from mmooc.lists.links import read_archive_token
from mmooc.lists.models import Post, Refusal

THREADS_PER_PAGE = 20
RECENT_REFUSALS = 20


class PageForm(forms.Form):
    page = forms.IntegerField(required=False, min_value=1,
                              error_messages={"invalid": "The page must be a whole number.",
                                              "min_value": "The page must be 1 or more."})


class VisibilityForm(forms.Form):
    hidden = forms.TypedChoiceField(choices=[("1", "hide"), ("0", "show")], coerce=lambda v: v == "1",
                                    error_messages={"required": "Say whether to hide or show the post.",
                                                    "invalid_choice": "Say whether to hide or show the post."})


def threads_page(posts: QuerySet[Post], number: int) -> tuple[Page, list[dict[str, Any]]]:
    """One page of threads, most recently active first, each with its posts in order."""
    heads = posts.order_by().values("thread_id").annotate(last=Max("received_at"), n=Count("id")).order_by(
        "-last", "thread_id")
    page = Paginator(heads, THREADS_PER_PAGE).get_page(number)
    ids = [row["thread_id"] for row in page.object_list]
    by_thread: dict[str, list[Post]] = {i: [] for i in ids}
    for post in posts.filter(thread_id__in=ids).order_by("received_at", "id"):
        by_thread[post.thread_id].append(post)
    threads = [{"subject": by_thread[i][0].subject or "(no subject)", "posts": by_thread[i],
                "last": row["last"]} for i, row in zip(ids, page.object_list, strict=True)]
    return page, threads


def _render_archive(request: HttpRequest, group: StudyGroup, posts: QuerySet[Post], template: str,
                    **extra: Any) -> HttpResponse:
    form = PageForm(request.GET)
    if not form.is_valid():
        ctx = {"group": group, "form": form, "threads": [], "page": None, **extra}
        return render(request, template, ctx, status=400)
    page, threads = threads_page(posts, form.cleaned_data["page"] or 1)
    ctx = {"group": group, "form": form, "threads": threads, "page": page, "query": other_params(request), **extra}
    return render(request, template, ctx)


@require_GET
def archive(request: HttpRequest, token: str) -> HttpResponse:
    """A member's view of their group's archive, by the signed link from their learner page."""
    try:
        group_id, learner_id = read_archive_token(token)
    except Http404:
        return render(request, "lists/invalid_link.html", status=404)
    membership = (Membership.objects.active().select_related("group", "learner")
                  .filter(group__public_id=group_id, learner__public_id=learner_id).first())
    closed = membership is None
    if membership is None:
        membership = _moved_from_closed_group(group_id, learner_id)
    if membership is None:
        return render(request, "lists/invalid_link.html", status=404)
    activate_for(request, membership.learner.language)
    posts = Post.objects.visible().filter(group=membership.group)
    return _render_archive(request, membership.group, posts, "lists/archive.html",
                           learner=membership.learner, closed=closed)


def _moved_from_closed_group(group_id: uuid.UUID, learner_id: uuid.UUID) -> Membership | None:
    """A former member of a group nobody is in any more (merged into another), now in another
    group: the archive of what they wrote together stays theirs to read."""
    past = (Membership.objects.select_related("group", "learner").filter(
        group__public_id=group_id, learner__public_id=learner_id, left_at__isnull=False).first())
    if past is None or Membership.objects.active().filter(group=past.group).exists():
        return None
    return past if Membership.objects.active().filter(learner=past.learner).exists() else None


@require_GET
def group_archive(request: HttpRequest, public_id: str) -> HttpResponse:
    """The group's page (its List-Archive): the whole archive for staff, a pointer for others."""
    group = get_object_or_404(StudyGroup.objects.select_related("cohort__course"), public_id=public_id)
    if not is_staff_member(request.user):
        ctx = {"group": group}
        return render(request, "lists/members_only.html", ctx)
    refusals = Refusal.objects.filter(group=group)[:RECENT_REFUSALS]
    return _render_archive(request, group, Post.objects.filter(group=group), "lists/staff_archive.html",
                           refusals=refusals)


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
    messages.success(request, _("The post is hidden from the archive.") if hidden else _("The post is shown again."))
    return redirect("lists:group_archive", public_id=group.public_id)
