"""Several processes sharing only PostgreSQL and the environment, as on several machines.

Two web processes (`mmooc serve --no-engine`), two `mmooc worker` and one `mmooc lmtp` run
as separate OS processes against the test database, sending to a real SMTP server. Each
periodic job runs once per interval among them all, one signup limit holds across both
web processes, and no copy reaches the SMTP server twice.
"""

from __future__ import annotations

import os
import re
import signal
import smtplib
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from mmooc import testing
from mmooc.learners.models import Learner
from mmooc.lib import periodic
from mmooc.lists.tests.mail import raw_post
from mmooc.mailer import outbox
from mmooc.mailer.models import Delivery, Message
from mmooc.operations.models import JobLease

ROOT = Path(__file__).resolve().parents[3]
EVERY = 2.0  # seconds: every periodic job's interval here (MMOOC_PERIODIC_EVERY)
WATCH = 12.0  # seconds the job turns are watched once every process is up
SIGNUP_RATE = 3  # signups per address per hour (MMOOC_SIGNUP_RATE)
WAIT = 90  # seconds: the most start-up or sending may take before the test fails
RAN = re.compile(r"periodic job (\S+) ran in")

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def environment(smtp_server: testing.SMTPServer, data_dir: Path) -> dict[str, str]:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    jobs = ",".join(f"{job.name}={EVERY:g}" for job in periodic.jobs())
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "mmooc.settings", "DATABASE_URL": url,
            "SECRET_KEY": settings.SECRET_KEY, "MMOOC_DATA_DIR": str(data_dir),
            "MMOOC_EMAIL_URL": smtp_server.url, "MMOOC_MAIL_RATE": "0", "MMOOC_PERIODIC_EVERY": jobs,
            "MMOOC_SIGNUP_RATE": str(SIGNUP_RATE), "MMOOC_LOG_LEVEL": "DEBUG"}


def start(env: dict[str, str], log: Path, *command: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mmooc.cli", *command], env=env, cwd=ROOT,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)


def sign_up(port: int, slug: str, email: str) -> int:
    body = urllib.parse.urlencode({"email": email, "timezone": "UTC"}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/cohorts/{slug}/signups", data=body)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def runs() -> dict[str, int]:
    return dict(JobLease.objects.values_list("name", "runs"))


def test_serve_two_workers_and_lmtp_share_one_state(smtp_server, tmp_path):
    cohort = testing.make_cohort()
    group = testing.make_group(cohort, 1, members=[f"m{i}@example.org" for i in range(5)])
    course_mail = outbox.compose(kind=Message.TRANSACTIONAL, subject="Hello {{ name }}", body="Hi {{ name }}")
    outbox.enqueue(course_mail, [outbox.Recipient(f"l{i}@example.org", {"name": f"L{i}"}) for i in range(200)])

    env = environment(smtp_server, tmp_path)
    web = [testing.free_port(), testing.free_port()]
    lmtp_port = testing.free_port()
    logs = {name: tmp_path / f"{name}.log" for name in ("web1", "web2", "worker1", "worker2", "lmtp")}
    processes = {
        "web1": start(env, logs["web1"], "serve", "--no-engine", "--port", str(web[0]),
                      "--lmtp-port", "0", "--socketmap-port", "0"),
        "web2": start(env, logs["web2"], "serve", "--no-engine", "--port", str(web[1]),
                      "--lmtp-port", "0", "--socketmap-port", "0"),
        "worker1": start(env, logs["worker1"], "worker", "--batch", "20"),
        "worker2": start(env, logs["worker2"], "worker", "--batch", "20"),
        "lmtp": start(env, logs["lmtp"], "lmtp", "--port", str(lmtp_port), "--socketmap-port", "0"),
    }
    try:
        for port in (*web, lmtp_port):
            testing.wait_for_port("127.0.0.1", port, WAIT)

        # The signup limit is one count for both web processes.
        answers = [sign_up(web[n % 2], cohort.slug, "ada@example.org") for n in range(SIGNUP_RATE + 2)]
        assert answers == [201] * SIGNUP_RATE + [429, 429]
        assert Learner.objects.filter(cohort=cohort, email_key="ada@example.org").count() == 1

        # A group post through the LMTP process, relayed to the other four members by the workers.
        with smtplib.LMTP("127.0.0.1", lmtp_port, timeout=30) as lmtp:
            lmtp.sendmail("m0@example.org", [group.address],
                          raw_post(sender="m0@example.org", to=group.address, message_id="<p1@example.org>"))

        # Every process has run its loop at least once; then the turns are watched for WATCH seconds.
        wait_until(lambda: len(runs()) == len(periodic.jobs()), "every periodic job to run once")
        before, started = runs(), time.monotonic()
        time.sleep(WATCH)
        after, watched = runs(), time.monotonic() - started

        # The process that last ran the most jobs stops; the others take its jobs' next turns.
        by_pid = {f"{os.uname().nodename}:{process.pid}": name for name, process in processes.items()}
        held = {name: by_pid[holder] for name, holder in JobLease.objects.values_list("name", "holder")}
        stopped = Counter(held.values()).most_common(1)[0][0]
        processes[stopped].send_signal(signal.SIGTERM)
        processes[stopped].wait(WAIT)
        its_jobs = {name for name, holder in held.items() if holder == stopped}
        later = runs()
        time.sleep(WATCH / 2)
        taken = runs()
        takers = {lease.name: by_pid[lease.holder] for lease in JobLease.objects.filter(name__in=its_jobs)}

        wait_until(lambda: not Delivery.objects.filter(status__in=[Delivery.QUEUED, Delivery.SENDING,
                                                                   Delivery.DEFERRED]).exists(),
                   "the workers to send everything")
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            process.wait(WAIT)
    output = {name: path.read_text() for name, path in logs.items()}
    for name, process in processes.items():
        assert process.returncode == 0, output[name]

    # Each job ran about once per interval among the three processes that run the loop, not once per process.
    for name in before:
        assert watched / EVERY / 2 <= after[name] - before[name] <= watched / (EVERY * 0.9) + 2, (name, before, after)
    logged = Counter(job for text in output.values() for job in RAN.findall(text))
    assert logged == Counter(runs())  # every run went through its turn: none ran outside the lease
    assert its_jobs and set(takers) == its_jobs
    assert stopped not in takers.values() and set(takers.values()) <= {"web1", "web2", "worker1", "worker2"}
    assert all(taken[name] >= later[name] + 1 for name in its_jobs)
    assert "lmtp" not in {name for name, text in output.items() if RAN.search(text)}

    # No copy was sent twice: one (Message-ID, recipient) pair per copy at the SMTP server.
    copies = Counter((r.message["Message-ID"], rcpt) for r in smtp_server.received for rcpt in r.rcpt_tos)
    assert copies and set(copies.values()) == {1}
    assert Delivery.objects.filter(status=Delivery.SENT).count() == len(copies)
    relayed = {rcpt for r in smtp_server.received if r.message["X-Loop"] == group.address for rcpt in r.rcpt_tos}
    assert relayed == {f"m{i}@example.org" for i in range(1, 5)}
    assert sum(1 for (_, rcpt) in copies if rcpt.startswith("l")) == 200
