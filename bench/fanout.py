#!/usr/bin/env python3
"""Fan-out benchmark: one personalized ~10 KB message to N learners, drained to Postfix's smtp-sink.

    .venv/bin/python bench/fanout.py --db sqlite --workers 1 --n 100000
    .venv/bin/python bench/fanout.py --db postgres --workers 4 --n 100000

Prints the enqueue time, the engine's messages per second, each worker's peak memory,
and the sink's own ceiling measured in the same run with Postfix's smtp-source over the
same number of connections, as a ratio. Needs smtp-sink and smtp-source (see bench/README.md).
Uses a throw-away database: a SQLite file in a temporary folder, or a PostgreSQL database
named mmooc_bench (dropped and created again) on --pg-url.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MMOOC = str(Path(sys.executable).with_name("mmooc"))
PARAGRAPH = (
    "This week we read chapter {n} of the book and try the exercises at the end of it. "
    "Meet your group, {{ name }}, and share what surprised you; then post one question you still have. "
    "Your schedule and the links for the week are on [your page]({{ page_url }}).\n\n"
)


def tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/lib/postfix/sbin")
    if not path:
        sys.exit(f"fanout: {name} not found; install it with /work/shared/tools/smtp-sink-ceiling "
                 "(or apt-get install postfix) — see bench/README.md")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def body_markdown(size: int) -> str:
    parts, n = ["# Week 1, {{ name }}\n\n"], 1
    while sum(len(p) for p in parts) < size * 0.32:  # the HTML part makes up the rest
        parts.append(PARAGRAPH.replace("{n}", str(n)))
        n += 1
    return "".join(parts)


def database_url(args: argparse.Namespace, tmp: Path, name: str = "mmooc_bench") -> str:
    """A fresh database: a SQLite file in `tmp`, or PostgreSQL's `name` dropped and created again."""
    if args.db == "sqlite":
        return f"sqlite:///{tmp / 'bench.sqlite3'}"
    import psycopg

    with psycopg.connect(f"{args.pg_url}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return f"{args.pg_url}/{name}"


def enqueue(n: int, size: int) -> tuple[float, int]:
    """Compose and queue the message in this process; returns seconds and the copy size."""
    import django

    django.setup()
    from mmooc.mailer import outbox
    from mmooc.mailer.models import Message
    from mmooc.mailer.render import prepare

    msg = outbox.compose(kind=Message.SUBSCRIBED, subject="Week 1 of the course, {{ name }}",
                         body=body_markdown(size), list_id="bench.announce.lists.example.org",
                         footer="The Team, 1 Example Street, Example City", tag="course-email")
    start = time.perf_counter()
    added = outbox.enqueue(msg, (outbox.Recipient(
        f"learner{i}@example.org",
        {"name": f"Learner {i}", "page_url": f"https://course.example.org/me/{i:08d}-token",
         "unsubscribe_url": f"https://course.example.org/unsubscribe/{i:08d}-token"})
        for i in range(n)))
    elapsed = time.perf_counter() - start
    assert added == n, (added, n)
    d = msg.deliveries.first()
    copy = prepare(msg).personalize(d.pk, d.recipient, d.context, d.rfc_message_id)
    return elapsed, len(copy)


def sink_ceiling(port: int, sessions: int, count: int, size: int) -> float:
    start = time.perf_counter()
    subprocess.run([tool("smtp-source"), "-d", "-s", str(sessions), "-l", str(size), "-m", str(count),
                    "-f", "bench@example.org", "-t", "sink@example.org", f"127.0.0.1:{port}"], check=True)
    return count / (time.perf_counter() - start)


def peak_rss_kb(pid: int) -> int:
    """The process's own peak resident memory (VmHWM); 0 once it has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    if "VmHWM:" not in status:  # exited, not yet reaped
        return 0
    return int(status.split("VmHWM:")[1].split()[0])


def run_workers(env: dict[str, str], workers: int, batch: int) -> tuple[float, list[int]]:
    """Start the workers with --once and wait for all; seconds taken and each one's peak RSS (KB).

    The peak is read from /proc while each worker runs: getrusage() would report the
    parent's peak for a forked child, which here holds the whole enqueue.
    """
    start = time.perf_counter()
    procs = [subprocess.Popen([MMOOC, "worker", "--once", "--batch", str(batch), "--verbosity", "0"],
                              env=env, cwd=ROOT) for _ in range(workers)]
    peaks = [0] * workers
    while any(p.poll() is None for p in procs):
        for i, p in enumerate(procs):
            peaks[i] = max(peaks[i], peak_rss_kb(p.pid))
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    if any(p.returncode for p in procs):
        sys.exit(f"fanout: a worker exited with {[p.returncode for p in procs]}")
    return elapsed, peaks


def count_sent() -> int:
    from mmooc.mailer.models import Delivery

    return Delivery.objects.filter(status=Delivery.SENT).count()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--workers", type=int, choices=(1, 2, 3, 4), default=1)
    ap.add_argument("--n", type=int, default=100_000, help="learners (default 100000)")
    ap.add_argument("--size", type=int, default=10_240, help="approximate message size in bytes")
    ap.add_argument("--batch", type=int, default=500, help="deliveries per batch (MMOOC_MAIL_BATCH)")
    ap.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432"))
    args = ap.parse_args()
    if args.db == "sqlite" and args.workers > 1:
        sys.exit("fanout: SQLite runs one engine; use --db postgres for several workers")

    tmp = Path(tempfile.mkdtemp(prefix="mmooc-bench-"))
    port = free_port()
    env = {**os.environ, "MMOOC_DATA_DIR": str(tmp), "DATABASE_URL": database_url(args, tmp),
           "MMOOC_EMAIL_URL": f"smtp://127.0.0.1:{port}?tls=none", "MMOOC_MAIL_RATE": "0",
           "MMOOC_MAIL_BATCH": str(args.batch), "DJANGO_SETTINGS_MODULE": "mmooc.settings",
           "MMOOC_LOG_LEVEL": "WARNING", "SECRET_KEY": "bench-secret-key-" + "x" * 40}
    os.environ.update(env)
    subprocess.run([MMOOC, "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    sink = subprocess.Popen([tool("smtp-sink"), "-u", "nobody", f"127.0.0.1:{port}", "1000"])
    try:
        time.sleep(0.5)  # let smtp-sink bind its port
        enqueue_s, copy_size = enqueue(args.n, args.size)
        from django.db import connection

        connection.close()
        seconds, peaks = run_workers(env, args.workers, args.batch)
        sent = count_sent()
        ceiling = sink_ceiling(port, args.workers, min(args.n, 50_000), copy_size)
    finally:
        sink.terminate()
        sink.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    rate = sent / seconds
    print(f"database        {args.db}, {args.workers} worker(s), batch {args.batch}")
    print(f"learners        {args.n}  (copy size {copy_size} bytes)")
    print(f"enqueue         {enqueue_s:.2f} s  ({args.n / enqueue_s:,.0f} rows/s)")
    print(f"sent            {sent} in {seconds:.1f} s = {rate:,.0f} msgs/s")
    print(f"worker peak RSS {', '.join(f'{kb / 1024:.0f} MB' for kb in peaks)}")
    print(f"sink ceiling    {ceiling:,.0f} msgs/s with smtp-source over {args.workers} connection(s)")
    print(f"ratio           {rate / ceiling:.0%} of the sink's ceiling")
    if sent != args.n:
        sys.exit(f"fanout: only {sent} of {args.n} deliveries were sent")


if __name__ == "__main__":
    main()
