"""The archive's threads: which thread a post joins (decided once, when it is stored), and a
group's threads and search results as the archive pages list them.

A post joins the thread of the nearest stored post it answers (References, In-Reply-To). A
post that names none but whose subject says it is a reply ("Re: Week 1", "[Group 3] AW: week
1") joins the latest thread whose first words are the same subject. Otherwise it starts a
thread, or joins the one its References name first. `Post.thread_id` holds the result, so
pages group by a stored column; `Post.subject_key` is the subject as the fallback compares it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, Max, Min, Q, QuerySet

from mmooc.lists.headers import REPLY_PREFIX
from mmooc.lists.models import SUBJECT_KEY_LENGTH, Post

THREADS_PER_PAGE = 20
RESULTS_PER_PAGE = 20
# A bracketed tag before the words: the group's own "[Group 3]", or another list's.
_TAG = re.compile(r"^\s*\[[^\]]{0,100}\]\s*")


def _stripped(subject: str) -> tuple[str, bool]:
    """The subject without list tags and reply prefixes, and whether it had a reply prefix."""
    rest, reply = subject or "", False
    while True:
        tag = _TAG.match(rest)
        if tag:
            rest = rest[tag.end():]
            continue
        prefix = REPLY_PREFIX.match(rest)
        if not prefix:
            return rest, reply
        rest, reply = rest[prefix.end():], True


def subject_key(subject: str) -> str:
    """The subject as threads compare it: no tags or "Re:", spaces collapsed, case folded."""
    return " ".join(_stripped(subject)[0].split()).casefold()[:SUBJECT_KEY_LENGTH]


def is_reply(subject: str) -> bool:
    return _stripped(subject)[1]


def candidates(in_reply_to: str, references: Sequence[str]) -> list[str]:
    """Message-IDs a message answers, oldest first: where to look for its thread."""
    ids = list(references)
    if in_reply_to and in_reply_to not in ids:
        ids.append(in_reply_to)
    return ids


def thread_for(group_id: int, message_id: str, in_reply_to: str, references: Sequence[str], subject: str) -> str:
    """The thread a new post of the group joins: the first Message-ID of the thread."""
    answered = candidates(in_reply_to, references)
    if answered:
        known = dict(Post.objects.filter(group_id=group_id, message_id__in=answered)
                     .values_list("message_id", "thread_id"))
        for mid in reversed(answered):
            if mid in known:
                return known[mid] or mid
        return answered[0]
    key = subject_key(subject)
    if key and is_reply(subject):
        same = (Post.objects.filter(group_id=group_id, subject_key=key).exclude(thread_id="")
                .order_by("-received_at", "-id").values_list("thread_id", flat=True).first())
        if same:
            return same
    return message_id


def rethread(rows: Iterable[Any]) -> dict[int, tuple[str, str]]:
    """For stored posts of one group in the order they came: {pk: (thread_id, subject_key)}
    as `thread_for` would have set them, for the ones that differ (the backfill)."""
    thread_of: dict[str, str] = {}
    latest_by_key: dict[str, str] = {}
    changed: dict[int, tuple[str, str]] = {}
    for row in rows:
        refs = row.references.split()
        answered = candidates(row.in_reply_to, refs)
        key = subject_key(row.subject)
        thread = ""
        if answered:
            thread = next((thread_of[m] for m in reversed(answered) if m in thread_of), answered[0])
        elif key and is_reply(row.subject):
            thread = latest_by_key.get(key, "")
        thread = thread or row.message_id
        thread_of.setdefault(row.message_id, thread)
        if key:
            latest_by_key[key] = thread
        if (thread, key) != (row.thread_id, row.subject_key):
            changed[row.pk] = (thread, key)
    return changed


def threads_page(posts: QuerySet[Post], number: int) -> tuple[Page, list[dict[str, Any]]]:
    """One page of threads, most recently active first: each with its subject and first
    author, its number of replies, its last post's time and the post its link opens."""
    heads = (posts.order_by().values("thread_id")
             .annotate(last=Max("received_at"), n=Count("id"), first=Min("id"),
                       withheld=Count("id", filter=Q(hidden=True) | Q(held=True)))
             .order_by("-last", "thread_id"))
    page = Paginator(heads, THREADS_PER_PAGE).get_page(number)
    rows = list(page.object_list)
    firsts = {p.pk: p for p in Post.objects.filter(pk__in=[r["first"] for r in rows])
              .only("pk", "subject", "author_name", "received_at")}
    threads = [{"key": r["first"], "subject": firsts[r["first"]].subject, "first": firsts[r["first"]],
                "posts_count": r["n"], "replies": r["n"] - 1, "last": r["last"],
                "withheld": r["withheld"]} for r in rows]
    return page, threads


def thread_posts(posts: QuerySet[Post], key: int) -> list[Post]:
    """The posts of the thread of post `key` (one of `posts`), in order; empty when it is none of them."""
    thread_id = posts.filter(pk=key).values_list("thread_id", flat=True).first()
    if thread_id is None:
        return []
    return list(posts.filter(thread_id=thread_id).defer("raw").order_by("received_at", "id"))


def search(posts: QuerySet[Post], words: str) -> QuerySet[Post]:
    """Posts whose subject or text holds `words`, in any case, newest first. The words are
    matched as written: `%` and `_` are no wildcards (the ORM escapes them)."""
    return (posts.filter(Q(subject__icontains=words) | Q(text__icontains=words)).defer("raw")
            .order_by("-received_at", "-id"))


def results_page(posts: QuerySet[Post], words: str, number: int) -> Page:
    return Paginator(search(posts, words), RESULTS_PER_PAGE).get_page(number)


def reply_subject(subject: str) -> str:
    """The subject of a reply to a post: "Re: " once, before the words without tags."""
    words = " ".join(_stripped(subject)[0].split())
    return f"Re: {words}" if words else "Re:"


def excerpt(text: str, words: str, width: int = 200) -> str:
    """A line of `text` around the first place it holds `words` (its start when it does not)."""
    flat = " ".join(text.split())
    at = flat.lower().find(words.lower()) if words else -1
    start = max(0, min(at - width // 3, len(flat) - width)) if at > 0 else 0
    piece = flat[start:start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")
