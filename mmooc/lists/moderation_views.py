"""The moderation queue of a cohort, for staff: every held post of its groups, and the decisions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from mmooc.courses.access import cohort_or_404
from mmooc.courses.models import Cohort
from mmooc.groups.access import groups_for
from mmooc.lib.paging import other_params
from mmooc.lib.staff import organizer_required, powers, staff_required, staff_user
from mmooc.lists import moderation, relay
from mmooc.lists.aliases import HOLD_DAYS
from mmooc.lists.models import Post

PAGE_SIZE = 50
PREVIEW_CHARS = 600
APPROVE, REJECT, RELEASE = "approve", "reject", "release"


class PageForm(forms.Form):
    page = forms.IntegerField(required=False, min_value=1)


class DecisionForm(forms.Form):
    action = forms.ChoiceField(choices=[(APPROVE, "Approve"), (REJECT, "Reject"), (RELEASE, "Release from spam")],
                               error_messages={"required": "Choose approve, reject or release.",
                                               "invalid_choice": "Choose approve, reject or release."})
    post = forms.TypedMultipleChoiceField(coerce=int, choices=[],
                                          error_messages={"required": "Select at least one post.",
                                                          "invalid_choice": "A selected post does not belong to "
                                                                            "this cohort."})
    note = forms.CharField(required=False, max_length=moderation.MAX_NOTE, strip=True,
                           error_messages={"max_length": f"The note may be at most {moderation.MAX_NOTE} "
                                                         "characters."})

    def __init__(self, data: Mapping[str, Any], post_ids: list[int]) -> None:
        super().__init__(data)
        self.fields["post"].choices = [(str(i), str(i)) for i in post_ids]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("note") and data.get("action") != REJECT:
            raise forms.ValidationError("A note to the sender goes only with a rejection.")
        return data


class FirstPostForm(forms.Form):
    hold_first_post = forms.TypedChoiceField(choices=[("1", "on"), ("0", "off")], coerce=lambda v: v == "1",
                                             error_messages={"required": "Say whether to hold first posts.",
                                                             "invalid_choice": "Say whether to hold first posts."})


def _refused(request: HttpRequest, cohort: Cohort, form: forms.Form) -> HttpResponse:
    reason = " ".join(str(e) for errors in form.errors.values() for e in errors)
    ctx = {"cohort": cohort, "reason": reason, "back_text": "Back to the moderation queue",
           "back_url": reverse("moderation:queue", kwargs={"cohort": cohort.slug})}
    return render(request, "dashboard/refused.html", ctx, status=400)


@require_GET
@staff_required
def queue(request: HttpRequest, cohort: str) -> HttpResponse:
    cohort_obj = cohort_or_404(cohort, request.user)
    form = PageForm(request.GET)
    page_number = form.cleaned_data["page"] or 1 if form.is_valid() else 1
    posts = moderation.held_posts(groups_for(request.user, cohort_obj))
    page = Paginator(posts, PAGE_SIZE).get_page(page_number)
    rows = list(page.object_list)
    senders = moderation.senders(rows)
    items = [{"post": p, "kind": moderation.kind_of(p), "kind_label": moderation.KINDS[moderation.kind_of(p)],
              "sender": senders.get(p.pk, ""), "preview": _preview(p.text)} for p in rows]
    ctx = {"cohort": cohort_obj, "page": page, "items": items, "query": other_params(request),
           "hold_first_post": moderation.hold_first_post(cohort_obj), "hold_days": HOLD_DAYS,
           "spam": moderation.SPAM, "too_big": moderation.TOO_BIG, "muted": moderation.MUTED,
           "size_limit": relay.MAX_POST_BYTES, "size_ceiling": relay.MAX_HELD_POST_BYTES,
           "bad_page": not form.is_valid(), **powers(request)}
    return render(request, "lists/moderation.html", ctx, status=400 if not form.is_valid() else 200)


def _preview(text: str) -> str:
    text = text.strip()
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS].rstrip() + " …"


@require_POST
@staff_required
def decide(request: HttpRequest, cohort: str) -> HttpResponse:
    """Approve, reject or release one post or several; each decided once, whatever is clicked twice.

    A selected post someone has just decided (a second click, a colleague) is counted, not refused."""
    cohort_obj = cohort_or_404(cohort, request.user)
    groups = groups_for(request.user, cohort_obj)
    wanted = [int(v) for v in request.POST.getlist("post") if v.isdigit() and len(v) < 12][:1000]
    known = list(Post.objects.filter(pk__in=wanted, group__in=groups).values_list("pk", flat=True))
    form = DecisionForm(request.POST, known)
    if not form.is_valid():
        return _refused(request, cohort_obj, form)
    action, note = form.cleaned_data["action"], form.cleaned_data["note"]
    selected = form.cleaned_data["post"]
    chosen = list(moderation.held_posts(groups).filter(pk__in=selected))
    if action == RELEASE and any(moderation.kind_of(p) != moderation.SPAM for p in chosen):
        form.add_error("action", "Only posts the provider judged spam can be released from spam; approve the others.")
        return _refused(request, cohort_obj, form)
    actor = staff_user(request)
    told: set[str] = set()
    done = 0
    for post in chosen:
        if action == REJECT:
            done += moderation.reject(post, actor, note, told=told)
        else:
            done += moderation.approve(post, actor, release=action == RELEASE)
    verb = {APPROVE: "approved and sent to the group", REJECT: "rejected",
            RELEASE: "released from spam and sent to the group"}[action]
    text = f"{done} post{'' if done == 1 else 's'} {verb}."
    if done < len(set(selected)):
        text += f" {len(set(selected)) - done} had already been decided: nothing more was done with them."
    if action == REJECT and note:
        text += f" The note went to {len(told)} sender{'' if len(told) == 1 else 's'}."
    messages.success(request, text)
    return redirect("moderation:queue", cohort=cohort_obj.slug)


@require_POST
@organizer_required
def first_post(request: HttpRequest, cohort: str) -> HttpResponse:
    cohort_obj = cohort_or_404(cohort, request.user)
    form = FirstPostForm(request.POST)
    if not form.is_valid():
        return _refused(request, cohort_obj, form)
    on = form.cleaned_data["hold_first_post"]
    moderation.set_hold_first_post(cohort_obj, on, staff_user(request))
    messages.success(request, "The first post of each new member is now held for review." if on
                     else "First posts of new members are no longer held.")
    return redirect("moderation:queue", cohort=cohort_obj.slug)
