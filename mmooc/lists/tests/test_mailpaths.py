"""The paths written out for mail (mmooc.lib.mailpaths) are reverse()'s, and the processes
that serve no page start without importing the URL configuration."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from django.test import override_settings
from django.urls import reverse, set_script_prefix

from mmooc.learners import links as learner_links
from mmooc.lib import mailpaths

ARGS = {
    "lists:group_archive": [uuid.UUID("12345678-1234-5678-1234-567812345678")],
    "lists:archive": ["AbC-12_x:1vZq9k:Zx-_y0"],
    "learners:send_link": [],
    "learners:confirm": ["v1.AbC-12_x:1vZq9k:Zx-_y0"],
    "learners:page": ["AbC-12_x:1vZq9k:Zx-_y0"],
    "learners:unsubscribe": ["gAbC-12_x.1vZq9k.Zx-_y0"],
}


def test_every_path_is_listed():
    assert set(ARGS) == set(mailpaths.PATHS)


@pytest.mark.parametrize("view", sorted(ARGS))
@pytest.mark.parametrize("prefix", ["/", "/course/"])
def test_path_is_reverses(view, prefix):
    set_script_prefix(prefix)
    try:
        assert mailpaths.path(view, *ARGS[view]) == reverse(view, args=ARGS[view])
    finally:
        set_script_prefix("/")


@pytest.mark.parametrize("view", sorted(ARGS))
def test_quoted_as_reverse_quotes(view):
    if not ARGS[view]:
        return
    odd = ["a b%é?#"] if view != "lists:group_archive" else ARGS[view]
    assert mailpaths.path(view, *odd) == reverse(view, args=odd)


@override_settings(BASE_URL="https://course.example.org")
def test_learner_links_match_reverse():
    learner_links._url_pattern.cache_clear()
    try:
        url = learner_links._link("learners:unsubscribe", "gAbC.1vZq9k.Zx-_y0")
        assert url == "https://course.example.org" + reverse("learners:unsubscribe", args=["gAbC.1vZq9k.Zx-_y0"])
    finally:
        learner_links._url_pattern.cache_clear()


START = """
import sys, django
django.setup()
from django.core.management import load_command_class
for app, name in (("mmooc.lists", "lmtp"), ("mmooc.mailer", "worker")):
    load_command_class(app, name).check()
import uuid
from mmooc.lists import links, relay
links._help_path(), links._group_path(uuid.uuid4()), relay._leave_group_url(uuid.uuid4(), "https://x.example")
print("mmooc.urls" in sys.modules)
"""


def test_lmtp_and_worker_start_without_the_url_configuration(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DJANGO_SETTINGS_MODULE="mmooc.settings", MMOOC_DATA_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", START], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


RELAY_AND_SEND = """
import sys, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from mmooc.lists import relay
from mmooc.lists.tests.mail import raw_post
from mmooc.mailer import engine
from mmooc.mailer.models import Delivery
from mmooc.testing import add_member, make_cohort, make_group
group = make_group(make_cohort(slug="py-1"), 1)
for address in ("alice@example.org", "bob@example.org", "carol@example.org"):
    add_member(group, address)
[outcome] = relay.receive(raw_post(sender="alice@example.org", to=group.address), "alice@example.org", [group.address])
engine.drain()
print(outcome.action, sorted(Delivery.objects.filter(status="sent").values_list("recipient", flat=True)))
print(sorted(name for name in ("markdown_it", "nh3", "css_inline", "mmooc.urls") if name in sys.modules))
"""


def test_relaying_and_sending_a_post_loads_neither_the_renderer_nor_the_pages(tmp_path):
    """What `mmooc lmtp` and a worker sending posts load: no Markdown, sanitizer, CSS inliner
    (rendering course emails) or URL configuration, each megabytes in every process."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DJANGO_SETTINGS_MODULE="mmooc.settings", MMOOC_DATA_DIR=str(tmp_path), MMOOC_EMAIL_URL="outbox:")
    result = subprocess.run([sys.executable, "-c", RELAY_AND_SEND], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    relayed, loaded = result.stdout.strip().splitlines()
    assert relayed == "relayed ['bob@example.org', 'carol@example.org']"
    assert loaded == "[]"
