"""Small helpers that make test data and real test servers; used by every app's tests."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import Group, User
from django.utils import timezone

from mmooc.courses.models import Cohort, Course, Module, Resource
from mmooc.learners.models import Learner, email_key
from mmooc.lib.staff import FACILITATOR, ORGANIZER

if TYPE_CHECKING:
    from mmooc.groups.models import Membership, StudyGroup

_counter = itertools.count(1)
CHROMIUM_PATH = os.environ.get("MMOOC_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def make_user(username: str, role: str | None = None, password: str = "correct horse 42") -> User:
    user = User.objects.create_user(username, f"{username}@example.org", password)
    if role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def make_organizer(username: str = "olivia") -> User:
    return make_user(username, ORGANIZER)


def make_facilitator(username: str = "fabian") -> User:
    return make_user(username, FACILITATOR)


def make_course(slug: str | None = None, modules: int = 3, **fields: Any) -> Course:
    n = next(_counter)
    course = Course.objects.create(
        slug=slug or f"course-{n}",
        title=fields.pop("title", f"Course {n}"),
        summary=fields.pop("summary", "A course for testing."),
        organizer_name=fields.pop("organizer_name", "The Team"),
        organizer_email=fields.pop("organizer_email", "team@course.example.org"),
        postal_line=fields.pop("postal_line", "1 Example Street, Example City"),
        **fields,
    )
    for position in range(1, modules + 1):
        module = Module.objects.create(course=course, position=position, title=f"Week {position}",
                                       goals=f"Goals of week {position}.",
                                       release_offset_days=7 * (position - 1))
        Resource.objects.create(module=module, position=1, title=f"Reading {position}",
                                url=f"https://books.example.org/ch{position}.html",
                                kind=Resource.READING, minutes=45)
        Resource.objects.create(module=module, position=2, title=f"Video {position}",
                                url=f"https://video.example.org/{position}", kind=Resource.VIDEO,
                                minutes=30)
    return course


def make_cohort(course: Course | None = None, slug: str | None = None, *, start: date | None = None,
                weeks: int = 7, tz: str = "UTC", open_signup: bool = True, **fields: Any) -> Cohort:
    course = course or make_course()
    n = next(_counter)
    now = timezone.now()
    start = start or (now + timedelta(days=10)).date()
    return Cohort.objects.create(
        course=course,
        slug=slug or f"{course.slug}-{n}",
        title=fields.pop("title", f"Cohort {n}"),
        signup_opens=fields.pop("signup_opens", now - timedelta(days=5 if open_signup else 30)),
        signup_closes=fields.pop(
            "signup_closes", now + timedelta(days=30) if open_signup else now - timedelta(days=1)),
        start_date=start,
        end_date=start + timedelta(weeks=weeks) - timedelta(days=1),
        timezone=tz,
        state=fields.pop("state", Cohort.PUBLISHED),
        **fields,
    )


def make_learner(cohort: Cohort, email: str | None = None, *, state: str = Learner.CONFIRMED,
                 **fields: Any) -> Learner:
    n = next(_counter)
    email = email or f"learner{n}@example.org"
    fields.setdefault("name", f"Learner {n}")
    if state == Learner.CONFIRMED:
        fields.setdefault("confirmed_at", timezone.now())
    return Learner.objects.create(cohort=cohort, email=email, email_key=email_key(email), state=state,
                                  **fields)


def make_group(cohort: Cohort, number: int = 1, members: Iterable[str] = (), **fields: Any) -> StudyGroup:
    """A study group made directly (the grouping algorithm is not what such tests are about)."""
    from mmooc.groups.models import StudyGroup

    group = StudyGroup.objects.create(
        cohort=cohort, number=number, name=fields.pop("name", f"Group {number}"), public_id=uuid.uuid4(),
        address=fields.pop("address", f"{cohort.slug}-group-{number}@lists.course.example.org"), **fields)
    for address in members:
        add_member(group, address)
    return group


def add_member(group: StudyGroup, address: str, *, name: str = "", **fields: Any) -> Membership:
    """A new confirmed learner of the group's cohort, member of the group."""
    learner = make_learner(group.cohort, address, name=name or address.split("@")[0].title())
    return join(group, learner, **fields)


def join(group: StudyGroup, learner: Learner, **fields: Any) -> Membership:
    from mmooc.groups.models import Membership

    return Membership.objects.create(group=group, learner=learner, **fields)


def facilitate(user: User, *groups: StudyGroup) -> User:
    """Assign a facilitator to study groups; returns the user, for `client.force_login`."""
    from mmooc.groups.models import Facilitation

    for group in groups:
        Facilitation.objects.get_or_create(user=user, group=group)
    return user


def facilitating(user: User, cohort: Cohort, number: int = 1) -> User:
    """A facilitator of the cohort's group `number` (made empty if the cohort has none): one who
    sees the cohort's pages, for tests about those pages rather than about groups."""
    from mmooc.groups.models import StudyGroup

    group = StudyGroup.objects.filter(cohort=cohort, number=number).first() or make_group(cohort, number)
    return facilitate(user, group)


def marked(node: Any, marker_name: str, /, **defaults: Any) -> dict[str, Any]:
    """The keyword arguments of a test's `pytest.mark.<marker_name>(...)` markers over `defaults`: the
    test's own marker wins over its class's, which wins over its module's. A `course` dict
    is merged the same way (the fields of the cohort's course)."""
    fields = dict(defaults)
    for marker in reversed(list(node.iter_markers(marker_name))):
        course = {**fields.get("course", {}), **marker.kwargs.get("course", {})}
        fields.update(marker.kwargs)
        if course:
            fields["course"] = course
    return fields


def cohort_for(node: Any, **defaults: Any) -> Cohort:
    """The cohort a test asks for with `pytest.mark.cohort(**fields)`: make_cohort's fields,
    `course={...}` make_course's; `defaults` are an app's usual cohort."""
    fields = marked(node, "cohort", **defaults)
    return make_cohort(make_course(**fields.pop("course", {})), **fields)


def import_course_folder(path: str | Path, cohort: Cohort | None = None) -> None:
    from mmooc.site.folders import import_folder

    import_folder(path, cohort=cohort)


def find_tool(name: str) -> str | None:
    """The path of a system program (postfix, nginx, …), looking in the sbin folders too."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])
    return shutil.which(name, path=path)


def wait_for_port(host: str, port: int, timeout: float) -> None:
    """Return once something accepts connections on host:port; TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:g} s") from None
            time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    """One message a test SMTP server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    mail_options: list[str] = field(default_factory=list)  # MAIL FROM's parameters, e.g. BODY=8BITMIME

    @property
    def message(self) -> EmailMessage:
        message = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class SMTPServer:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives.

    `reply` may be set to a function (envelope) -> str | None giving an SMTP reply such as
    "451 4.3.0 try later" to refuse a message; None accepts it. `rcpt_reply`, a function
    (address) -> str | None, refuses a recipient the same way at RCPT.
    """

    host: str = "127.0.0.1"
    port: int = 0
    received: list[Received] = field(default_factory=list)
    reply: Any = None
    rcpt_reply: Any = None
    _controller: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        answer = self.rcpt_reply(address) if self.rcpt_reply is not None else None
        if answer:
            return str(answer)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reply is not None:
            answer = self.reply(envelope)
            if answer:
                return answer
        with self._lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content,
                                          list(envelope.mail_options)))
        return "250 2.0.0 OK"

    def start(self) -> SMTPServer:
        from aiosmtpd.controller import Controller

        self.port = self.port or free_port()
        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}?tls=none"

    def messages_to(self, address: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if address in r.rcpt_tos]


def race(racers: int, work: Callable[[], None]) -> None:
    """Run `work` in `racers` threads released at once, each on its own database connection
    (as each process would be); re-raises the first error any of them met."""
    from django.db import connection

    barrier = threading.Barrier(racers)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            work()
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


# Query shapes -------------------------------------------------------------------------------
# Speed at size is shown by bench/; tests check the shape that gives it: which index a
# statement uses, and that no statement returns a row per learner or member.


def query_plan(sql: str) -> str:
    """The database's plan for a statement as CaptureQueriesContext captured it (values inlined).

    On PostgreSQL sequential scans, sorts and hashed groups are turned off for it: a test's
    tables are so small that they are scanned, or read through any index and sorted, whatever
    the indexes."""
    from django.db import connection

    explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET enable_seqscan = off; SET enable_sort = off; SET enable_hashagg = off")
        try:
            cursor.execute(explain + sql)
            return " ".join(str(cell) for row in cursor.fetchall() for cell in row)
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("RESET enable_seqscan; RESET enable_sort; RESET enable_hashagg")


def largest_result(queries: Iterable[dict[str, Any]]) -> int:
    """The most rows any captured SELECT returns when run again: a page that reads a cohort's
    learners (or members) one by one has a statement that returns one row for each."""
    from django.db import connection

    most = 0
    with connection.cursor() as cursor:
        for query in queries:
            if query["sql"].lstrip().upper().startswith("SELECT"):
                cursor.execute(query["sql"])
                most = max(most, len(cursor.fetchall()))
    return most


@contextmanager
def refused_statements(containing: str, times: int | None = None) -> Iterator[list[str]]:
    """The default connection refuses the statements whose SQL contains `containing` (the first
    `times` of them, or all) with OperationalError, as SQLite does when a reader holds the table
    or PostgreSQL when its connection dropped. Yields the list of the statements refused."""
    from django.db import OperationalError, connection

    refused: list[str] = []

    def refuse(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if containing in sql and (times is None or len(refused) < times):
            refused.append(sql)
            raise OperationalError("database table is locked")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse):
        yield refused
