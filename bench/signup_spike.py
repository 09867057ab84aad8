#!/usr/bin/env python3
"""Signup spike: N concurrent clients posting signups to the JSON API served by gunicorn.

    .venv/bin/python bench/signup_spike.py                      # SQLite, then PostgreSQL
    .venv/bin/python bench/signup_spike.py --db sqlite --clients 32 --signups 10000
    .venv/bin/python bench/signup_spike.py --db postgres --pg-url postgres://postgres@127.0.0.1:5432

For each database: a throw-away data folder and database, `mmooc migrate`, one open cohort,
then `gunicorn mmooc.wsgi -w WORKERS --threads THREADS`. The same clients first load the
trivial `/healthz` view (one `SELECT 1`) for the same number of requests, then post the
signups (the signup limits set just high enough to take them all). Prints requests per
second and p50/p99 latency for both, and their ratio. After the run it checks that every
2xx answer is one learner in the database with exactly one confirmation email queued, and
that nothing else was stored.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SECRET = "bench-secret-key-" + "x" * 40
COURSE, COHORT = "spike", "spike-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url(db: str, pg_url: str, tmp: Path) -> str:
    if db == "sqlite":
        return f"sqlite:///{tmp / 'bench.sqlite3'}"
    import psycopg

    with psycopg.connect(f"{pg_url}/postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS mmooc_signup_bench WITH (FORCE)")
        conn.execute("CREATE DATABASE mmooc_signup_bench")
    return f"{pg_url}/mmooc_signup_bench"


SETUP = f"""
from datetime import timedelta
from django.utils import timezone
from mmooc.courses.models import Cohort, Course, Module, Resource
course = Course.objects.create(slug={COURSE!r}, title="Spike course", summary="A course.",
    questions=[{{"id": "level", "label": "Level", "type": "single", "choices": ["new", "some"]}}])
Module.objects.create(course=course, position=1, title="Week 1")
now = timezone.now()
Cohort.objects.create(course=course, slug={COHORT!r}, title="Spike", signup_opens=now - timedelta(days=1),
    signup_closes=now + timedelta(days=30), start_date=(now + timedelta(days=10)).date(),
    end_date=(now + timedelta(days=60)).date(), state=Cohort.PUBLISHED)
"""


def prepare(env: dict[str, str]) -> None:
    subprocess.run([str(BIN / "mmooc"), "migrate", "-v", "0"], env=env, check=True, cwd=ROOT)
    subprocess.run([str(BIN / "mmooc"), "shell", "-c", SETUP], env=env, check=True, cwd=ROOT)


def start_gunicorn(env: dict[str, str], port: int, workers: int, threads: int) -> subprocess.Popen:
    cmd = [str(BIN / "gunicorn"), "mmooc.wsgi", "-w", str(workers), "--threads", str(threads),
           "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--keep-alive", "30"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    sys.exit("signup_spike: gunicorn did not answer /healthz within 30 s")


class Load:
    """`clients` threads, each with one kept-alive connection, sharing `total` requests."""

    def __init__(self, port: int, clients: int, total: int) -> None:
        self.port, self.clients, self.total = port, clients, total
        self.lock = threading.Lock()
        self.next = 0
        self.latencies: list[float] = []
        self.answers: list[tuple[int, str]] = []  # (status, email)

    def _take(self) -> int | None:
        with self.lock:
            if self.next >= self.total:
                return None
            self.next += 1
            return self.next - 1

    def _client(self, request: Request) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        latencies, answers = [], []
        while (n := self._take()) is not None:
            started = time.perf_counter()
            try:
                status, email = request(conn, n)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                status, email = 0, ""
            latencies.append(time.perf_counter() - started)
            answers.append((status, email))
        conn.close()
        with self.lock:
            self.latencies += latencies
            self.answers += answers

    def run(self, request: Request) -> float:
        threads = [threading.Thread(target=self._client, args=(request,)) for _ in range(self.clients)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - started


# One request on a kept-alive connection: (HTTP status, the address signed up or "").
Request = Callable[[http.client.HTTPConnection, int], tuple[int, str]]


def healthz(conn: http.client.HTTPConnection, n: int) -> tuple[int, str]:
    conn.request("GET", "/healthz")
    response = conn.getresponse()
    response.read()
    return response.status, ""


def signup(conn: http.client.HTTPConnection, n: int) -> tuple[int, str]:
    email = f"learner{n}@example.org"
    body = json.dumps({"email": email, "name": f"Learner {n}", "timezone": "Asia/Kolkata", "language": "en",
                       "group": n % 3 != 0, "answers": {"level": "new" if n % 2 else "some"}})
    conn.request("POST", f"/api/cohorts/{COHORT}/signups", body=body,
                 headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    return response.status, email


def server_cpu(master: int) -> float:
    """CPU seconds used so far by gunicorn's workers (user + system)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{master}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def quantiles(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return p50 * 1000, p99 * 1000


def measure(name: str, load: Load, request: Request, master: int) -> float:
    cpu_before, client_before = server_cpu(master), time.process_time()
    seconds = load.run(request)
    cpu = server_cpu(master) - cpu_before
    client = time.process_time() - client_before
    ok = sum(1 for status, _ in load.answers if 200 <= status < 300)
    rate = ok / seconds
    p50, p99 = quantiles(load.latencies)
    failed = len(load.answers) - ok
    print(f"  {name:<10} {ok:>7} ok {failed:>5} failed in {seconds:6.2f} s: {rate:8.1f}/s   "
          f"p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   CPU per request: app {cpu * 1000 / max(ok, 1):4.2f} ms, "
          f"clients {client * 1000 / max(ok, 1):4.2f} ms")
    return rate


VERIFY = """
import json, sys
from django.db.models import Count
from mmooc.learners.models import Learner
from mmooc.mailer.models import Delivery
emails = json.loads(sys.stdin.read())
learners = dict(Learner.objects.filter(cohort__slug="COHORT_SLUG").values_list("email", "public_id"))
per_ref = dict(Delivery.objects.filter(message__tag="confirmation").values("ref").annotate(n=Count("id"))
               .values_list("ref", "n"))
missing = [e for e in emails if e not in learners]
wrong = [e for e in emails if e in learners and per_ref.get(str(learners[e]), 0) != 1]
extra = len(learners) - len(emails)
print(json.dumps({"learners": len(learners), "missing": missing[:5], "n_missing": len(missing),
                  "wrong_mail": wrong[:5], "n_wrong": len(wrong), "extra_learners": extra,
                  "deliveries": sum(per_ref.values())}))
""".replace("COHORT_SLUG", COHORT)


def verify(env: dict[str, str], emails: list[str]) -> bool:
    out = subprocess.run([str(BIN / "mmooc"), "shell", "-c", VERIFY], env=env, cwd=ROOT, check=True,
                         input=json.dumps(emails), capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    good = result["n_missing"] == 0 and result["n_wrong"] == 0 and result["extra_learners"] == 0
    print(f"  check: {len(emails)} accepted, {result['learners']} learners, {result['deliveries']} confirmation "
          f"emails queued; missing {result['n_missing']}, not exactly one email {result['n_wrong']}, "
          f"unexpected learners {result['extra_learners']} → {'OK' if good else 'LOST OR DUPLICATED'}")
    if not good:
        print(f"  first problems: {result['missing']} {result['wrong_mail']}")
    return good


def one_run(args: argparse.Namespace, db: str) -> bool:
    with tempfile.TemporaryDirectory(prefix="mmooc-signup-bench-") as tmpdir:
        tmp = Path(tmpdir)
        env = {**os.environ, "MMOOC_DATA_DIR": str(tmp), "SECRET_KEY": SECRET,
               "DATABASE_URL": database_url(db, args.pg_url, tmp), "MMOOC_LOG_LEVEL": "WARNING",
               "MMOOC_ALLOWED_HOSTS": "127.0.0.1,localhost",
               # Every signup comes from one client address, to one cohort and one recipient
               # domain: the limits are set just high enough to take them all, so each signup
               # still pays for counting against every limit.
               "MMOOC_SIGNUPS_PER_CLIENT_HOUR": str(args.signups),
               "MMOOC_SIGNUPS_PER_COHORT_HOUR": str(args.signups),
               "MMOOC_CONFIRMATIONS_PER_DOMAIN_HOUR": str(args.signups)}
        env.pop("MMOOC_EMAIL_URL", None)
        prepare(env)
        port = free_port()
        server = start_gunicorn(env, port, args.workers, args.threads)
        try:
            print(f"{db}: gunicorn -w {args.workers} --threads {args.threads}, {args.clients} clients, "
                  f"{args.signups} requests each")
            Load(port, args.clients, min(args.signups, 500)).run(healthz)  # warm up both workers
            base_rate = measure("/healthz", Load(port, args.clients, args.signups), healthz, server.pid)
            load = Load(port, args.clients, args.signups)
            rate = measure("signups", load, signup, server.pid)
            print(f"  ratio     signups/s ÷ healthz/s = {rate / base_rate:.2f}   "
                  f"(machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
        finally:
            server.terminate()
            server.wait(timeout=30)
        accepted = [email for status, email in load.answers if 200 <= status < 300]
        return verify(env, accepted)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--signups", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--pg-url", default=os.environ.get("MMOOC_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432"))
    args = parser.parse_args()
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = [one_run(args, db) for db in dbs]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
