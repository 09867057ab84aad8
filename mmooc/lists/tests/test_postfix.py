"""A real Postfix (Debian's package) in front of `mmooc lmtp`, configured from deploy/postfix/.

The path an operator runs: a sender's server speaks SMTP to Postfix, Postfix asks the
socketmap whether the address exists, hands the post to the LMTP server, and the copies
leave through Postfix's outbound service to the members' servers (a local SMTP sink here,
as the relayhost). The instance is private (its own configuration, queue and data
folders, loopback high ports); under CI a Postfix that cannot run fails the test.
"""

from __future__ import annotations

import shutil
import smtplib
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import OperationalError

from mmooc import testing
from mmooc.groups.apply import apply_grouping
from mmooc.groups.models import StudyGroup
from mmooc.lib.env import parse_email_url
from mmooc.lists import lmtp, socketmap
from mmooc.lists.models import Post
from mmooc.lists.tests.mail import raw_post
from mmooc.lists.tests.postfix import PrivatePostfix
from mmooc.mailer import engine

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.tool("postfix", "postmap")]

WAIT = 60  # seconds: the most Postfix may take here to pass a message on


@pytest.fixture(scope="module")
def open_folder() -> Iterator[Path]:
    """A temporary folder Postfix's unprivileged daemons can reach (pytest's are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="mmooc-postfix-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def sink() -> Iterator[testing.SMTPServer]:
    """The members' mail servers: Postfix's relayhost."""
    server = testing.SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def running(open_folder, sink) -> Iterator[PrivatePostfix]:
    """Postfix, with the LMTP server and the socketmap it talks to (one set for the module: starting costs seconds)."""
    server = lmtp.start("127.0.0.1", testing.free_port())
    lookups = socketmap.start("127.0.0.1", 0)
    try:
        with PrivatePostfix(open_folder / "mta", lmtp_port=server.port, socketmap_port=lookups.port,
                            relay_port=sink.port) as postfix:
            yield postfix
    finally:
        lookups.stop()
        server.stop()


@pytest.fixture
def mta(running, sink) -> PrivatePostfix:
    sink.received.clear()
    return running


def wait_for(condition: Callable[[], object], what: str, mta: PrivatePostfix) -> None:
    deadline = time.monotonic() + WAIT
    while not _met(condition):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; Postfix's log:\n{mta.log()}")
        time.sleep(0.1)


def _met(condition: Callable[[], object]) -> bool:
    """The condition, or False while the LMTP server (a thread of this process) holds a table
    it is writing: the tests' in-memory SQLite database shares one cache between threads, and
    a reader there is refused at once ("database table is locked") instead of waiting."""
    try:
        return bool(condition())
    except OperationalError as exc:
        if "locked" not in str(exc):
            raise
        return False


def test_a_post_to_a_group_formed_a_moment_ago_is_accepted_and_relayed(mta, cohort, sink, settings):
    members = [f"member{i}@example.org" for i in range(5)]
    for address in members:
        testing.make_learner(cohort, address)
    apply_grouping(cohort, target_size=5, welcome_now=False)
    group = StudyGroup.objects.get(cohort=cohort)

    with smtplib.SMTP("127.0.0.1", mta.smtp_port, timeout=30) as client:
        client.ehlo("mail.example.org")
        assert client.mail(members[0])[0] == 250
        assert client.rcpt(group.address) == (250, b"2.1.5 Ok")
        client.data(raw_post(sender=members[0], to=group.address, subject="Hello from Postfix"))

    wait_for(lambda: Post.objects.filter(group=group).exists(), "the post to reach the LMTP server", mta)
    settings.EMAIL_CONFIG = parse_email_url(f"smtp://127.0.0.1:{mta.outbound_port}?tls=none")
    settings.MAIL_RATE_LIMIT = 0
    assert engine.drain() == 4  # a copy for every member but the author, handed to Postfix

    wait_for(lambda: len(sink.received) == 4, "Postfix to relay the copies", mta)
    assert sorted(r for copy in sink.received for r in copy.rcpt_tos) == sorted(members[1:])
    for copy in sink.received:
        assert copy.mail_from.startswith("bounces+") and copy.mail_from.endswith("@lists.course.example.org")
        assert copy.message["Subject"] == f"[{group.name}] Hello from Postfix"
        assert copy.message["List-Id"].endswith(f"<{group.list_id}>")
        assert "mx.course.example.org" in copy.message["Received"]  # it came through Postfix


def test_an_unknown_address_is_refused_at_rcpt(mta, group, sink):
    with smtplib.SMTP("127.0.0.1", mta.smtp_port, timeout=30) as client:
        client.ehlo("mail.example.org")
        assert client.mail("alice@example.org")[0] == 250
        code, text = client.rcpt("py-3-group-99@lists.course.example.org")
        assert code == 550
        assert b"5.1.1" in text and b"User unknown in relay recipient table" in text
        assert client.rcpt(group.address.replace("@", "+tag@"))[0] == 550
        assert client.rcpt("bounces+zz@lists.course.example.org")[0] == 550
    assert not Post.objects.exists()
    assert sink.received == []


def test_a_bounce_to_the_return_path_is_accepted(mta):
    from mmooc.mailer import verp

    with smtplib.SMTP("127.0.0.1", mta.smtp_port, timeout=30) as client:
        client.ehlo("mail.example.org")
        assert client.mail("")[0] == 250
        assert client.rcpt(verp.make_bounce_address(42))[0] == 250
        assert client.rcpt(verp.make_unsubscribe_address(42))[0] == 250


def test_a_post_too_big_even_to_be_held_is_refused_while_the_sender_is_connected(mta, group):
    with smtplib.SMTP("127.0.0.1", mta.smtp_port, timeout=30) as client:
        client.ehlo("mail.example.org")
        code, text = client.mail("alice@example.org", ["SIZE=41000001"])
        assert code == 552, text
    assert not Post.objects.exists()


def test_a_post_over_the_post_limit_reaches_us_to_be_held(mta, group):
    with smtplib.SMTP("127.0.0.1", mta.smtp_port, timeout=30) as client:
        client.ehlo("mail.example.org")
        code, text = client.mail("alice@example.org", ["SIZE=10485761"])  # 10 MB and a byte
        assert code == 250, text


def test_lookups_failing_make_senders_try_again_later(open_folder, group, sink):
    with PrivatePostfix(open_folder / "alone", lmtp_port=testing.free_port(), socketmap_port=testing.free_port(),
                        relay_port=sink.port) as mta:  # nothing answers the socketmap
        with smtplib.SMTP("127.0.0.1", mta.smtp_port, timeout=30) as client:
            client.ehlo("mail.example.org")
            assert client.mail("alice@example.org")[0] == 250
            code, text = client.rcpt(group.address)
    assert code == 451, text


def test_a_members_post_over_the_limit_through_postfix_is_held_for_staff(mta, group, sink, monkeypatch):
    from mmooc.lists import relay

    monkeypatch.setattr(relay, "MAX_POST_BYTES", 2000)  # the LMTP server runs in this process
    with smtplib.SMTP("127.0.0.1", mta.smtp_port, timeout=30) as client:
        client.ehlo("mail.example.org")
        assert client.mail("alice@example.org")[0] == 250
        assert client.rcpt(group.address)[0] == 250
        assert client.data(raw_post(to=group.address, body=("b" * 70 + "\n") * 50))[0] == 250
    wait_for(lambda: Post.objects.filter(group=group).exists(), "the post to reach the LMTP server", mta)
    post = Post.objects.get()
    assert (post.held, post.held_reason, post.outbox_message) == (True, relay.TOO_BIG, None)
