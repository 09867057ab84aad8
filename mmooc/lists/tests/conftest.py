"""Study groups made directly (the grouping algorithm is not what these tests are about)."""

from __future__ import annotations

import smtplib

import pytest

from mmooc import testing
from mmooc.testing import add_member, make_group


@pytest.fixture
def cohort(request, db):
    """py-3 (`pytest.mark.cohort` changes it)."""
    return testing.cohort_for(request.node, slug="py-3")


@pytest.fixture
def group(cohort):
    """Group 1 of py-3: Alice (who posts in most tests), Bob and Carol."""
    group = make_group(cohort, 1)
    add_member(group, "alice@example.org", name="Alice Smith")
    add_member(group, "bob@example.org", name="Bob Jones")
    add_member(group, "carol@example.org", name="Carol Diaz")
    return group


@pytest.fixture
def lmtp_conn():
    """A running LMTP receiver and one client connection to it, greeted."""
    from mmooc.lists import lmtp

    running = lmtp.start("127.0.0.1", testing.free_port())
    conn = smtplib.LMTP(running.host, running.port, timeout=30)
    conn.ehlo_or_helo_if_needed()
    yield conn
    conn.close()
    running.stop()
