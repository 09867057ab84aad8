"""Group list relay: LMTP acceptance to copies at an SMTP sink, and copies per second sustained.

    .venv/bin/python bench/relay.py [--db sqlite|postgres] [--pg-name NAME] [--posts 200] [--burst 500]
                                    [--members 40] [--clients 4] [--no-wake] [--workers N] [--split 10,80]
                                    [--profile DIR]

Two shapes, on a fresh database, with Postfix's smtp-sink standing in for the mail
provider (install it with /work/shared/tools/smtp-sink-ceiling), and a group of
`--members` members plus the poster, so every post makes `--members` copies:

- by default, one process runs what `mmooc serve` runs for mail: the LMTP server and the
  delivery engine, in threads; the engine is woken when a post's copies are committed
  (`engine.wake`); `--no-wake` shows it polling alone;
- with `--workers N`, production's shape: a `mmooc lmtp` process (Postfix's transport) and
  N `mmooc worker` processes, woken when the relay commits a post's copies (PostgreSQL
  NOTIFY, or a datagram to their socket in MMOOC_DATA_DIR on SQLite; a quick look every
  MMOOC_MAIL_POLL seconds otherwise); this process only sends posts and reads the outbox.

1. Latency: `--posts` posts, one at a time, over one LMTP connection. For each: the LMTP
   accept time (MAIL to the last reply after DATA), and the time from that reply to the
   sink's 250 for the post's last copy (timed at the engine's SMTP client; with workers,
   from the outbox's sent times).
2. Throughput: `--burst` posts from `--clients` LMTP connections at once (from another
   process); copies per second from the first post sent to the last copy at the sink.
   PostgreSQL's statistics are brought up to date (ANALYZE) before it, as on a database in use.
3. Memory: PSS, right after the burst, of the processes that relay and send, of the sink
   and of the PostgreSQL backends serving them.
4. CPU time per copy under the burst, per process (the LMTP process, each worker, the
   PostgreSQL backends serving them), read from /proc: the figure to compare between two
   versions, since copies per second on a shared machine depend on everyone's load. With
   each, its context switches per post (all its threads): how often it waited, a count that
   does not depend on the machine's speed.
5. Baseline, in the same run and into the same sink, after the burst: Postfix's
   smtp-source sending as many messages of `--members` recipients each, of a copy's size
   (one transaction per message), and as many single-recipient messages as we sent copies
   (one transaction per copy, as ours); our copies per second as a ratio of each. Then
   the machine's cost of a wait: one byte to another Python process and back over a
   socket pair. smtp-source hardly waits; the relay waits some hundred times a post, so
   on a machine where switching is dear (a virtual machine inside another) it falls far
   further behind smtp-source than elsewhere, and this figure says so.

6. With `--split SMALL,LARGE` (say 10,80), after the memory reading: as many copies as the
   burst's again, to a group of SMALL members and then to one of LARGE, each process's CPU
   per post read as above; the straight line through the two gives a fixed cost per post
   and a cost per copy, by process, and their share in a post to `--members` members. Most
   of the relay's CPU is paid per post, whatever the group's size: this shows how much.

With `--profile DIR`, the `mmooc` processes run under bench/profiled.py (cProfile in every
thread, timed by CPU time) and write DIR/lmtp.prof and DIR/worker-N.prof when stopped.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
PG_NAME = "mmooc_bench_relay"
BODY = ("Hi everyone,\n\nHere is what I found about this week's exercises. " * 6 + "\n\n") * 6


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--pg-name", default=PG_NAME, help="the PostgreSQL database to (re)create for the run")
    p.add_argument("--posts", type=int, default=200, help="posts for the latency run")
    p.add_argument("--burst", type=int, default=500, help="posts for the throughput run")
    p.add_argument("--members", type=int, default=40, help="copies per post")
    p.add_argument("--clients", type=int, default=4, help="LMTP connections in the throughput run")
    p.add_argument("--no-wake", action="store_true", help="let the engine find new copies by polling")
    p.add_argument("--workers", type=int, default=0,
                   help="run the engine as this many `mmooc worker` processes instead of in-process "
                        "(woken by NOTIFY or their socket; times come from the outbox rows)")
    p.add_argument("--split", metavar="SMALL,LARGE", default="",
                   help="after the burst, as many copies again to a group of SMALL and one of LARGE members: "
                        "each process's CPU split into a fixed cost per post and a cost per copy")
    p.add_argument("--profile", metavar="DIR", default="",
                   help="with --workers: run the processes under bench/profiled.py, writing DIR/*.prof")
    args = p.parse_args()
    if args.split:
        split_sizes(args.split)  # a bad value stops the run before it starts
    return args


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/lib/postfix/sbin")
    if not path:
        sys.exit(f"bench/relay.py: {name} not found; run /work/shared/tools/smtp-sink-ceiling once to install it")
    return path


def start_sink(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([tool("smtp-sink"), "-u", "nobody", f"127.0.0.1:{port}", "1000"])
    for _ in range(100):
        try:
            smtplib.SMTP("127.0.0.1", port, timeout=1).quit()
            return proc
        except OSError:
            time.sleep(0.05)
    sys.exit("bench/relay.py: smtp-sink did not start")


def configure(args: argparse.Namespace, sink_port: int, data_dir: str) -> None:
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "mmooc.settings", "MMOOC_DATA_DIR": data_dir,
        "MMOOC_EMAIL_URL": f"smtp://127.0.0.1:{sink_port}?tls=none", "MMOOC_LOG_LEVEL": "WARNING",
        "MMOOC_LIST_DOMAIN": "lists.course.example.org",
        "MMOOC_SOCKETMAP_PORT": "0",  # not measured; and the default port may be taken by another `mmooc lmtp`
        "SECRET_KEY": "bench-secret-key-" + "x" * 40,  # one key for every process (required on PostgreSQL)
    })
    if args.db == "postgres":
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {args.pg_name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {args.pg_name}")
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.pg_name}"
    else:
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_group(members: int, slug: str = "bench"):
    """A group of `members` members and the poster (member0), in a cohort of its own."""
    import uuid

    from mmooc.groups.models import Membership, StudyGroup
    from mmooc.testing import make_cohort, make_learner

    cohort = make_cohort(slug=slug)
    group = StudyGroup.objects.create(cohort=cohort, number=1, name="Group 1", public_id=uuid.uuid4(),
                                      address=f"{slug}-group-1@lists.course.example.org")
    for i in range(members + 1):
        learner = make_learner(cohort, f"member{i}@example.org", name=f"Member {i}")
        Membership.objects.create(group=group, learner=learner)
    return group


def raw_post(n: int, to: str) -> bytes:
    return (f"From: Member Zero <member0@example.org>\r\nTo: {to}\r\nSubject: Week {n % 7 + 1} notes\r\n"
            f"Date: Mon, 2 Nov 2026 10:00:00 +0000\r\nMessage-ID: <bench-{n}-{time.time_ns()}@example.org>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            + BODY.replace("\n", "\r\n")).encode()


class OutboxTiming:
    """Arrival times read from the outbox (sent_at), for engines in other processes."""

    def __init__(self) -> None:
        self.total_before = 0

    def wait_for(self, message_id: int, copies: int, timeout: float = 60) -> float:
        from django.db.models import Max

        from mmooc.mailer.models import Delivery

        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            rows = Delivery.objects.filter(message_id=message_id, status=Delivery.SENT)
            if rows.count() >= copies:
                sent_at = rows.aggregate(last=Max("sent_at"))["last"]
                return time.perf_counter() - (time.time() - sent_at.timestamp())
            time.sleep(0.005)
        raise RuntimeError(f"the copies of message {message_id} did not all arrive")

    @property
    def total(self) -> int:
        from mmooc.mailer.models import Delivery

        return Delivery.objects.filter(status=Delivery.SENT).count()

    @property
    def last(self) -> float:
        from django.db.models import Max

        from mmooc.mailer.models import Delivery

        sent_at = Delivery.objects.aggregate(last=Max("sent_at"))["last"]
        return time.perf_counter() - (time.time() - sent_at.timestamp())

    def wait_total(self, total: int, timeout: float = 600) -> None:
        deadline = time.perf_counter() + timeout
        while self.total < total and time.perf_counter() < deadline:
            time.sleep(0.02)


def mmooc_command(profile: str, name: str) -> list[str]:
    """How to start an `mmooc` command: as installed, or under bench/profiled.py."""
    if profile:
        os.makedirs(profile, exist_ok=True)
        return [sys.executable, str(ROOT / "bench" / "profiled.py"), os.path.join(profile, f"{name}.prof")]
    return [str(Path(sys.executable).parent / "mmooc")]


def start_workers(count: int, profile: str = "") -> list[subprocess.Popen]:
    return [subprocess.Popen([*mmooc_command(profile, f"worker-{n + 1}"), "worker"], env=os.environ.copy())
            for n in range(count)]


class Timing:
    """When each delivery reached the sink, and an event per post when its last copy did.

    Waiters are woken only when what they wait for has happened, not at every copy: a
    main thread woken 20,000 times would take interpreter time from the system measured.
    """

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.at_sink: dict[int, float] = {}  # outbox message id -> time of its last copy so far
        self.count: dict[int, int] = {}
        self.total = 0
        self.last = 0.0
        self.wanted: tuple[int, int] | None = None  # (message id, copies) someone waits for
        self.wanted_total = 0

    def arrived(self, message_id: int, when: float) -> None:
        with self.lock:
            self.at_sink[message_id] = when
            self.count[message_id] = self.count.get(message_id, 0) + 1
            self.total += 1
            self.last = when
            wanted = self.wanted
            if (wanted and wanted[0] == message_id and self.count[message_id] >= wanted[1]) or (
                    self.wanted_total and self.total >= self.wanted_total):
                self.lock.notify_all()

    def wait_for(self, message_id: int, copies: int, timeout: float = 60) -> float:
        """When the message's `copies`-th copy reached the sink."""
        with self.lock:
            self.wanted = (message_id, copies)
            try:
                arrived = self.lock.wait_for(lambda: self.count.get(message_id, 0) >= copies, timeout)
            finally:
                self.wanted = None
            if not arrived:
                from mmooc.mailer.models import Delivery

                states = list(Delivery.objects.filter(message_id=message_id).values_list("status", "last_error")[:3])
                raise RuntimeError(f"only {self.count.get(message_id, 0)} of {copies} copies arrived: {states}")
            return self.at_sink[message_id]

    def wait_total(self, total: int, timeout: float = 600) -> None:
        with self.lock:
            self.wanted_total = total
            try:
                self.lock.wait_for(lambda: self.total >= total, timeout)
            finally:
                self.wanted_total = 0


def start_engine(timing: Timing, wake: bool) -> tuple[threading.Thread, threading.Event]:
    from django.conf import settings

    from mmooc.mailer import engine, transports

    class TimedSMTP(transports.SMTPTransport):
        # A batch's copies are all at the sink when send() returns: timed then (an upper bound).
        def send(self, jobs):
            results = super().send(jobs)
            now = time.perf_counter()
            message_of = {job.id: job.message_id for job in jobs}
            for result in results:
                if result.outcome == transports.SENT:
                    timing.arrived(message_of[result.id], now)
            return results

    stop = threading.Event()

    def loop() -> None:
        eng = engine.Engine(transport=TimedSMTP(settings.EMAIL_CONFIG))
        eng.start()
        try:
            while not stop.is_set():
                step = eng.step()
                if step.processed:
                    continue
                if wake:
                    engine._idle(stop, step.wait)  # woken when the relay's copies are committed
                else:
                    stop.wait(step.wait)
        finally:
            eng.stop()
            from django.db import connection

            connection.close()

    thread = threading.Thread(target=loop, name="engine", daemon=True)
    thread.start()
    return thread, stop


def lmtp_send(conn: smtplib.LMTP, raw: bytes, to: str) -> None:
    refused = conn.sendmail("member0@example.org", [to], raw)
    if refused:
        raise RuntimeError(f"refused: {refused}")


def message_for(post_number: int) -> int:
    """The outbox message of the post just accepted."""
    from mmooc.lists.models import Post

    return Post.objects.order_by("-pk").values_list("outbox_message_id", flat=True)[0]


def latency_run(args, group, host: str, port: int, timing: Timing | OutboxTiming) -> tuple[list[float], list[float]]:
    from django.db import connection

    accepts, deliveries = [], []
    with smtplib.LMTP(host, port, timeout=60) as conn:
        for n in range(args.posts):
            raw = raw_post(n, group.address)
            t0 = time.perf_counter()
            lmtp_send(conn, raw, group.address)
            t1 = time.perf_counter()
            last_copy = timing.wait_for(message_for(n), args.members)
            accepts.append(t1 - t0)
            deliveries.append(last_copy - t1)
    connection.close()
    return accepts, deliveries


def analyze() -> None:
    """PostgreSQL: statistics for the tables the latency run filled, as autovacuum keeps them on
    a database in use. Without them the planner takes the fresh outbox for empty, and the
    engine's claim visits every message of the run (a cost that grows with the bench, not with
    the relay)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def burst_run(args, group, host: str, port: int, timing: Timing | OutboxTiming, pids: dict[str, int | None],
              posts: int = 0, members: int = 0) -> tuple[float, int, list[float], dict[str, float], dict[str, int]]:
    """`posts` posts (--burst) to `group` of `members` members (--members). The LMTP clients
    run in a process of their own, as Postfix would: they do not compete with the relay and
    the engine for this process's interpreter."""
    posts, members = posts or args.burst, members or args.members
    before = timing.total
    expected = before + posts * members
    command = [sys.executable, __file__, "--client", host, str(port), group.address, str(posts),
               str(args.clients)]
    backends = postgres_pids(exclude_own=True)  # their CPU is ours too (none on SQLite)
    start = time.perf_counter()
    cpu_start = {name: cpu_seconds(pid) for name, pid in pids.items()}
    db_start = sum(cpu_seconds(pid) for pid in backends)
    switches_start = {name: switches(pid) for name, pid in pids.items()}
    db_switches_start = sum(switches(pid) for pid in backends)
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    timing.wait_total(expected)
    cpu = {name: cpu_seconds(pid) - cpu_start[name] for name, pid in pids.items()}
    waits = {name: switches(pid) - switches_start[name] for name, pid in pids.items()}
    if backends:
        cpu["PostgreSQL backends"] = sum(cpu_seconds(pid) for pid in backends) - db_start
        waits["PostgreSQL backends"] = sum(switches(pid) for pid in backends) - db_switches_start
    accepts = [float(x) for x in out.split()]
    return timing.last - start, timing.total - before, accepts, cpu, waits


def split_sizes(text: str) -> tuple[int, int]:
    try:
        small, large = (int(x) for x in text.split(","))
    except ValueError:
        sys.exit(f"bench/relay.py: --split takes two group sizes, as 10,80; got {text!r}")
    if not 0 < small < large:
        sys.exit(f"bench/relay.py: --split needs 0 < SMALL < LARGE; got {text!r}")
    return small, large


Run = tuple[int, int, float, dict[str, float]]  # members, posts, copies/s, CPU seconds by process


def split_run(args, host: str, port: int, timing: Timing | OutboxTiming, pids: dict[str, int | None]) -> list[Run]:
    """As many copies as the burst's, to a group of SMALL members and then to one of LARGE:
    each run's CPU per post, by process, and their straight line (see report_split)."""
    runs = []
    for members in split_sizes(args.split):
        group = make_group(members, slug=f"bench-split-{members}")
        analyze()
        posts = max(1, round(args.burst * args.members / members))
        elapsed, copies, _, cpu, _ = burst_run(args, group, host, port, timing, pids, posts, members)
        runs.append((members, posts, copies / elapsed, cpu))
    return runs


def report_split(args, runs: list[Run]) -> None:
    """CPU per post = fixed + per copy × members, per process, through the two runs' points;
    and what that gives for a post to --members members."""
    (small, small_posts, small_rate, small_cpu), (large, large_posts, large_rate, large_cpu) = runs
    ms = 1000
    print(f"  CPU split (--split): {small_posts} posts to {small} members ({small_rate:,.0f} copies/s), then "
          f"{large_posts} posts to {large} ({large_rate:,.0f} copies/s); CPU per post = fixed + per copy × members:")
    fixed_all = per_copy_all = 0.0
    for name in small_cpu:
        at_small = small_cpu[name] / small_posts
        at_large = large_cpu.get(name, 0.0) / large_posts
        per_copy = (at_large - at_small) / (large - small)
        fixed = at_small - per_copy * small
        fixed_all, per_copy_all = fixed_all + fixed, per_copy_all + per_copy
        print(f"    {name}: {at_small * ms:.2f} and {at_large * ms:.2f} ms per post: fixed {fixed * ms:.2f} ms, "
              f"{per_copy * 1e6:.0f} µs per copy")
    post = fixed_all + per_copy_all * args.members
    print(f"    together: fixed {fixed_all * ms:.2f} ms a post, {per_copy_all * 1e6:.0f} µs a copy; a post to "
          f"{args.members} members {post * ms:.2f} ms, {fixed_all / post:.0%} of it fixed")


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user and system) of this process, or of process `pid` (0 once it has gone)."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def switches(pid: int | None = None) -> int:
    """Context switches so far of every thread of process `pid` (this one by default), 0 once
    it has gone: a process switches out each time it waits (a database reply, an SMTP reply,
    another thread), so switches per post count its waits, whatever the machine's speed."""
    total = 0
    try:
        for status in Path(f"/proc/{pid or os.getpid()}/task").glob("*/status"):
            for line in status.read_text().splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split()[1])
    except OSError:
        pass
    return total


def round_trip_us(trips: int = 20_000) -> float:
    """Microseconds for one byte to go to another Python process over a socket pair and back:
    what one wait of the relay costs on this machine at the least. It differs from machine to
    machine far more than a loop of Python does (a virtual machine inside another pays for
    every switch), and the relay waits some hundred times a post."""
    ours, theirs = socket.socketpair()
    child = os.fork()
    if child == 0:  # echo until the parent closes its end
        ours.close()
        while theirs.recv(1):
            theirs.send(b"x")
        os._exit(0)
    theirs.close()
    start = time.perf_counter()
    for _ in range(trips):
        ours.send(b"x")
        ours.recv(1)
    elapsed = time.perf_counter() - start
    ours.close()
    os.waitpid(child, 0)
    return elapsed / trips * 1e6


def start_lmtp_process(profile: str = "") -> tuple[subprocess.Popen, str, int]:
    """`mmooc lmtp`, as Postfix's transport would reach it in production."""
    port = free_port()
    proc = subprocess.Popen([*mmooc_command(profile, "lmtp"), "lmtp", "--host", "127.0.0.1", "--port", str(port)],
                            env=os.environ.copy())
    for _ in range(1200):  # up to a minute: a loaded machine starts Django slowly
        try:
            smtplib.LMTP("127.0.0.1", port, timeout=1).quit()
            return proc, "127.0.0.1", port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("bench/relay.py: `mmooc lmtp` did not start")


def client_main(host: str, port: int, address: str, posts: int, clients: int) -> None:
    """`--client`: send `posts` posts over `clients` LMTP connections; print each accept time."""
    accepts: list[float] = []
    lock = threading.Lock()

    def client(k: int) -> None:
        with smtplib.LMTP(host, port, timeout=120) as conn:
            for n in range(k, posts, clients):
                t0 = time.perf_counter()
                lmtp_send(conn, raw_post(100_000 + n, address), address)
                with lock:
                    accepts.append(time.perf_counter() - t0)

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    print(" ".join(f"{a:.6f}" for a in accepts))


def pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def postgres_pids(exclude_own: bool = False) -> list[int]:
    """The PostgreSQL processes serving the run's database (without this process's own)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                       + (" AND pid <> pg_backend_pid()" if exclude_own else ""))
        return [r[0] for r in cursor.fetchall()]


def postgres_pss_kb(exclude_own: bool = False) -> tuple[int, int]:
    """PSS of the PostgreSQL processes serving the run's database (without this process's own)."""
    pids = postgres_pids(exclude_own)
    return sum(pss_kb(p) for p in pids), len(pids)


def copy_size() -> int:
    """The bytes of one copy as it goes on the wire (the last post's first)."""
    from mmooc.mailer.models import Delivery
    from mmooc.mailer.render import prepare

    d = Delivery.objects.select_related("message").order_by("-pk").first()
    assert d is not None
    return len(prepare(d.message).personalize(d.pk, d.recipient, d.context, d.rfc_message_id))


def smtp_source(port: int, sessions: int, messages: int, recipients: int, size: int) -> float:
    """Seconds Postfix's smtp-source takes to send `messages` of `recipients` recipients and
    `size` bytes over `sessions` connections kept open, into the sink on `port`."""
    start = time.perf_counter()
    subprocess.run([tool("smtp-source"), "-d", "-s", str(sessions), "-m", str(messages), "-r", str(recipients),
                    "-l", str(size), "-f", "bench@example.org", "-t", "member@example.org", f"127.0.0.1:{port}"],
                   check=True)
    return time.perf_counter() - start


def engine_poll() -> float:
    from django.conf import settings

    return settings.MAIL_POLL


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    args = parse_args()
    sink_port = free_port()
    sink = start_sink(sink_port)
    data_dir = tempfile.mkdtemp(prefix="mmooc-bench-relay-")
    try:
        configure(args, sink_port, data_dir)
        from mmooc.lists import lmtp

        group = make_group(args.members)
        workers: list[subprocess.Popen] = []
        if args.workers:
            # Production's shape: `mmooc lmtp` and `mmooc worker` processes; this one only
            # sends posts and reads the outbox, and is not counted.
            timing: Timing | OutboxTiming = OutboxTiming()
            workers = start_workers(args.workers, args.profile)
            try:
                lmtp_proc, host, port = start_lmtp_process(args.profile)
            except SystemExit:
                for w in workers:
                    w.terminate()
                raise
            workers.append(lmtp_proc)
            server, stop = None, threading.Event()
            pids: dict[str, int | None] = {"`mmooc lmtp`": lmtp_proc.pid}
            pids.update({f"`mmooc worker` {n + 1}": w.pid for n, w in enumerate(workers[:-1])})
        else:
            timing = Timing()
            engine_thread, stop = start_engine(timing, wake=not args.no_wake)
            server = lmtp.start("127.0.0.1", free_port())
            host, port = server.host, server.port
            pids = {"this process (LMTP, relay, engine)": None}
        try:
            accepts, deliveries = latency_run(args, group, host, port, timing)
            analyze()
            elapsed, copies, burst_accepts, burst_cpu, burst_waits = burst_run(args, group, host, port, timing, pids)
            db_pss, db_procs = postgres_pss_kb(exclude_own=bool(args.workers))
            # Proportional set sizes, read together right after the burst: shared pages
            # (the interpreter, libraries) are counted once across the processes.
            workers_mb = sum(pss_kb(w.pid) for w in workers) / 1024
            own_mb = 0 if args.workers else pss_kb(os.getpid()) / 1024
            split = split_run(args, host, port, timing, pids) if args.split else None
        finally:
            if server is not None:
                server.stop()
            stop.set()
            for w in workers:
                w.terminate()
                w.wait()
            if not workers:
                engine_thread.join(timeout=30)
        rss_mb = own_mb + workers_mb
        sink_mb = pss_kb(sink.pid) / 1024
        # The baseline, into the same sink, once ours have stopped: as many messages as posts,
        # each to as many recipients as a post has copies; then as many one-recipient messages.
        size = copy_size()
        sessions = max(1, args.workers)
        multi = smtp_source(sink_port, sessions, args.burst, args.members, size)
        single = smtp_source(sink_port, sessions, args.burst * args.members, 1, size)
        trip = round_trip_us()
        report(args, accepts, deliveries, elapsed, copies, burst_accepts, burst_cpu, burst_waits, rss_mb, sink_mb,
               db_pss / 1024, db_procs)
        if split:
            report_split(args, split)
        report_baseline(args, copies / elapsed, size, sessions, multi, single, trip)
    finally:
        sink.terminate()
        sink.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


def report(args, accepts, deliveries, elapsed, copies, burst_accepts, burst_cpu, burst_waits, rss_mb, sink_mb, db_mb,
           db_procs) -> None:
    ms = 1000
    wake = "polling only" if args.no_wake else "engine woken on commit"
    if args.workers:
        wake = (f"`mmooc lmtp` and {args.workers} `mmooc worker` process{'es' * (args.workers > 1)} "
                f"(woken on commit; polling every {engine_poll() * 1000:.0f} ms as the fallback)")
    print(f"relay bench: {args.db}, {args.members} copies per post, {wake}")
    # The targets are set for `mmooc lmtp` and `mmooc worker` as separate processes (--workers).
    latency_target = f"target median <= {15 if args.db == 'postgres' else 25} ms with --workers"
    print(f"  LMTP accept, one at a time ({len(accepts)} posts): median {statistics.median(accepts) * ms:.1f} ms, "
          f"p99 {pct(accepts, 99) * ms:.1f} ms  (target p99 < 50 ms)")
    print(f"  accept to all {args.members} copies at the sink: median {statistics.median(deliveries) * ms:.1f} ms, "
          f"p99 {pct(deliveries, 99) * ms:.1f} ms  ({latency_target})")
    print(f"  sustained, {args.burst} posts from {args.clients} LMTP connections: {copies} copies in {elapsed:.2f} s "
          f"= {copies / elapsed:,.0f} copies/s, {args.burst / elapsed:.1f} posts/s  (target >= 8,000 copies/s with "
          f"`mmooc lmtp` and one `mmooc worker`)")
    print(f"  LMTP accept under that load: median {statistics.median(burst_accepts) * ms:.1f} ms, "
          f"p99 {pct(burst_accepts, 99) * ms:.1f} ms")
    load = os.getloadavg()
    print(f"  CPU under that load (load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}):")
    for name, seconds in burst_cpu.items():
        waits = f", {burst_waits[name] / args.burst:.0f} context switches per post" if name in burst_waits else ""
        print(f"    {name}: {seconds / copies * 1e6:.0f} µs per copy, {seconds / args.burst * ms:.2f} ms per post, "
              f"{seconds / elapsed * 100:.0f} % of one core{waits}")
    total_cpu = sum(burst_cpu.values())
    print(f"    together: {total_cpu / copies * 1e6:.0f} µs per copy ({copies / total_cpu:,.0f} copies per CPU second)")
    total = rss_mb + sink_mb + db_mb
    db = f" + PostgreSQL {db_mb:.0f} MB PSS ({db_procs} backends)" if args.db == "postgres" else ""
    ours = "`mmooc lmtp` and `mmooc worker`" if args.workers else "this process"
    print(f"  memory (PSS): {ours} {rss_mb:.0f} MB + smtp-sink {sink_mb:.1f} MB{db} = {total:.0f} MB  "
          "(target < 200 MB)")


def report_baseline(args, rate: float, size: int, sessions: int, multi: float, single: float,
                    trip: float) -> None:
    copies = args.burst * args.members
    print(f"  baseline, Postfix's smtp-source into the same sink ({sessions} connection{'s' * (sessions > 1)}, "
          f"{size:,} bytes a message):")
    print(f"    {args.burst} messages of {args.members} recipients: {copies / multi:,.0f} recipients/s; "
          f"ours {rate / (copies / multi):.0%} of it")
    print(f"    {copies} one-recipient messages: {copies / single:,.0f} messages/s; "
          f"ours {rate / (copies / single):.0%} of it  (load average {os.getloadavg()[0]:.1f})")
    print(f"  this machine: a round trip between two Python processes over a socket pair takes {trip:.1f} µs")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--client"]:
        host, port, address, posts, clients = sys.argv[2:7]
        client_main(host, int(port), address, int(posts), int(clients))
    else:
        main()
