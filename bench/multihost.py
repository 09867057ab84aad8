#!/usr/bin/env python3
"""Several machines: `mmooc worker` on 1–4 hosts of their own, then one host killed mid-send.

    .venv/bin/python bench/multihost.py --n 50000           # as root (network namespaces)
    .venv/bin/python bench/multihost.py --clean             # remove what an interrupted run left

Each host is a Linux network namespace (mmh1 … mmh4) with its own interface, address
(10.251.0.11 …) and host name, joined by a veth pair to a bridge (mmh-br, 10.251.0.1) in
the machine's own namespace. PostgreSQL and Postfix's smtp-sink stay there: smtp-sink
listens on the bridge's address, and PostgreSQL (which listens on 127.0.0.1 only) is
reached through a socat forward from 10.251.0.1:5432 to it, with TCP keepalives so that a
host that vanishes from the network has its connections closed within seconds. Nothing
in PostgreSQL's configuration is changed; the database mmooc_multihost is dropped and
created again, and dropped at the end (unless --keep-db).

First, one course email of N copies (bench/fanout.py's message) per host count, drained
by one `mmooc worker --once` per host; each is compared with smtp-source's ceiling into
the same sink from one host over as many connections. Then N more copies drained by
workers left running on every host, one of which loses its link and is killed with
SIGKILL mid-send: the outbox's statuses and what the sink received (its dump, read
back) show that every copy arrived, and how many arrived twice.

Everything made (namespaces, links, bridge, processes) is removed at the end, on Ctrl-C
or on an error. With --delay-ms, each host's link gets `tc netem` latency (needs the
kernel's sch_netem module).
"""

from __future__ import annotations

import argparse
import atexit
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fanout  # noqa: E402  (the message, its queueing, the tools)

IP = "/usr/sbin/ip"
BRIDGE, NS = "mmh-br", "mmh"  # the bridge, and the namespaces' prefix: mmh1, mmh2 …
GATEWAY = "10.251.0.1"
DB_NAME = "mmooc_multihost"
MAX_HOSTS = 8


def address(i: int) -> str:
    return f"10.251.0.{10 + i}"


def run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_times() -> tuple[int, int]:
    """The machine's busy and total CPU ticks so far (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def process_cpu(pid: int) -> float:
    """A running process's user + system CPU seconds; 0 once it has gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


class CpuWatch:
    """CPU seconds of the processes that do a run's work, by part, sampled while they run
    (a process's time is lost once it exits: each is read every sample, its last value kept)."""

    def __init__(self, parts: dict[str, list[int]], forward: int) -> None:
        self.parts, self.forward = parts, forward
        self.seen: dict[str, dict[int, float]] = {}

    def sample(self) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                           [DB_NAME])
            backends = [r[0] for r in cursor.fetchall()]
        for part, pids in {**self.parts, "postgres": backends, "forward": self.group(self.forward)}.items():
            seen = self.seen.setdefault(part, {})
            for pid in pids:
                seen[pid] = max(seen.get(pid, 0.0), process_cpu(pid))

    @staticmethod
    def group(pgid: int) -> list[int]:
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rsplit(")", 1)[1].split()[2]) == pgid:
                    pids.append(int(stat.parent.name))
            except (OSError, IndexError, ValueError):
                pass
        return pids

    def workers(self) -> float:
        return sum(self.seen.get("workers", {}).values())

    def cores(self, seconds: float) -> dict[str, float]:
        """Each part's CPU seconds per second of the run (1.0 = one core busy all along)."""
        return {part: sum(seen.values()) / seconds for part, seen in self.seen.items()}


class Lab:
    """The hosts, their links and every process started here; close() removes them all."""

    def __init__(self, hosts: int, tmp: Path) -> None:
        self.hosts, self.tmp = hosts, tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        self.made: list[str] = []  # namespaces made, then "bridge"
        self.sink_port = 2525
        self.forward = 0  # the socat forward's process group

    def build(self, delay_ms: float) -> None:
        if run(IP, "link", "show", BRIDGE, check=False).returncode == 0:
            sys.exit(f"multihost: {BRIDGE} exists: another run is going on, or run with --clean")
        run(IP, "link", "add", BRIDGE, "type", "bridge")
        self.made.append("bridge")
        run(IP, "addr", "add", f"{GATEWAY}/24", "dev", BRIDGE)
        run(IP, "link", "set", BRIDGE, "up")
        for i in range(1, self.hosts + 1):
            self.add_host(i, delay_ms)

    def add_host(self, i: int, delay_ms: float) -> None:
        ns, link = f"{NS}{i}", f"{NS}{i}-link"
        run(IP, "netns", "add", ns)
        self.made.append(ns)
        run(IP, "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", ns)
        run(IP, "link", "set", link, "master", BRIDGE)
        run(IP, "link", "set", link, "up")
        run(IP, "-n", ns, "addr", "add", f"{address(i)}/24", "dev", "eth0")
        run(IP, "-n", ns, "link", "set", "eth0", "up")
        run(IP, "-n", ns, "link", "set", "lo", "up")
        if delay_ms:
            done = run(IP, "netns", "exec", ns, "tc", "qdisc", "add", "dev", "eth0", "root", "netem",
                       "delay", f"{delay_ms}ms", check=False)
            if done.returncode:
                sys.exit(f"multihost: tc netem: {done.stderr.strip()} (is the sch_netem module there?)")

    def start(self, cmd: list[str], **kw: object) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(cmd, start_new_session=True, **kw)  # type: ignore[call-overload]
        self.procs.append(proc)
        return proc

    def on_host(self, i: int, cmd: list[str], **kw: object) -> subprocess.Popen[bytes]:
        """A command run on host i: its namespace, and a host name of its own (the worker's
        engine id and heartbeat show it). The process id is the command's own."""
        return self.start([IP, "netns", "exec", f"{NS}{i}", "unshare", "--uts", "sh", "-c",
                           f'hostname host{i} && exec "$0" "$@"', *cmd], **kw)

    def forward_postgres(self, host: str, port: int, keepalive: bool) -> None:
        """10.251.0.1:port to PostgreSQL; with keepalive, a connection whose host stops answering
        is closed after 5 + 3 × 2 s (and PostgreSQL then rolls back what it had open)."""
        opts = ",keepalive,keepidle=5,keepintvl=2,keepcnt=3" if keepalive else ""
        with (self.tmp / "forward.log").open("wb") as log:
            self.forward = self.start(["socat", f"TCP-LISTEN:{port},bind={GATEWAY},fork,reuseaddr{opts}",
                                       f"TCP:{host}:{port}"], stderr=log).pid

    def forward_timeouts(self) -> int:
        """Connections the forward closed because their host stopped answering keepalives."""
        return (self.tmp / "forward.log").read_text().count("timed out")

    def sink(self, dump: Path | None = None) -> tuple[subprocess.Popen[bytes], Path, str]:
        """A fresh smtp-sink on the bridge (a new port each time); its counters go to a file."""
        self.sink_port += 1
        out = self.tmp / f"sink-{self.sink_port}.out"
        opts = ["-D", str(dump)] if dump else []
        with out.open("wb") as f:
            proc = self.start([fanout.tool("smtp-sink"), "-c", *opts, "-u", "nobody",
                               f"{GATEWAY}:{self.sink_port}", "1000"], stdout=f)
        time.sleep(0.5)  # let it bind
        return proc, out, f"{GATEWAY}:{self.sink_port}"

    def stop(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        """Signal the process's own group (it and what it forked: socat's children); one that
        does not exit within 20 s of a SIGTERM (a worker held up on a lock) is killed."""
        if proc.poll() is None:
            os.killpg(proc.pid, sig)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def close(self) -> None:
        for proc in self.procs:
            self.stop(proc)
        self.procs.clear()
        for made in reversed(self.made):
            if made == "bridge":
                run(IP, "link", "del", BRIDGE, check=False)
            else:
                # The link first: the sockets of a host killed while its link was down keep its
                # namespace (and so the veth pair) alive until they time out.
                run(IP, "link", "del", f"{made}-link", check=False)
                run(IP, "netns", "del", made, check=False)
        self.made.clear()


def clean() -> None:
    """Remove the namespaces and bridge of an interrupted run, and the processes left in them."""
    for i in range(1, MAX_HOSTS + 1):
        pids = run(IP, "netns", "pids", f"{NS}{i}", check=False).stdout.split()
        for pid in pids:
            os.kill(int(pid), signal.SIGKILL)
        if run(IP, "netns", "del", f"{NS}{i}", check=False).returncode == 0:
            print(f"removed namespace {NS}{i} (processes {' '.join(pids) or 'none'})")
        if run(IP, "link", "del", f"{NS}{i}-link", check=False).returncode == 0:
            print(f"removed link {NS}{i}-link")
    if run(IP, "link", "del", BRIDGE, check=False).returncode == 0:
        print(f"removed {BRIDGE}")


def sink_count(out: Path) -> int:
    found = re.findall(rb"mesg=(\d+)", out.read_bytes())
    return int(found[-1]) if found else 0


def ceiling(lab: Lab, sessions: int, count: int, size: int) -> float:
    """What smtp-source pushes from host 1 into a fresh sink over `sessions` connections."""
    sink, _, where = lab.sink()
    start = time.perf_counter()
    lab.on_host(1, [fanout.tool("smtp-source"), "-d", "-s", str(sessions), "-l", str(size), "-m", str(count),
                    "-f", "bench@example.org", "-t", "sink@example.org", where]).wait()
    rate = count / (time.perf_counter() - start)
    lab.stop(sink, signal.SIGTERM)
    return rate


# --- the outbox, read from this process (the machine's own namespace) -----------------------

def queue_copies(n: int, size: int) -> tuple[int, int]:
    """N copies of the course email; the message's id and one copy's size."""
    from django.db import connection

    from mmooc.mailer.models import Message

    _, copy_size = fanout.enqueue(n, size)
    message_id = Message.objects.latest("pk").pk
    connection.close()
    return message_id, copy_size


def statuses(message_id: int) -> Counter[str]:
    from mmooc.mailer.models import Delivery

    rows = Delivery.objects.filter(message_id=message_id).values_list("status").order_by()
    from django.db.models import Count

    return Counter(dict(rows.annotate(n=Count("id")).values_list("status", "n")))


def sent(message_id: int) -> int:
    from mmooc.mailer.models import Delivery

    return Delivery.objects.filter(message_id=message_id, status=Delivery.SENT).count()


# --- throughput per host count --------------------------------------------------------------

@dataclass
class Throughput:
    hosts: int
    sent: int
    at_sink: int
    seconds: float
    steady: float  # copies/s between 10 % and 90 % sent (without start-up and the tail)
    steady_cpu: float  # the workers' CPU ms per 1,000 copies over the same stretch
    busy: float  # the machine's CPU busy share during the run, of all cores
    cores: dict[str, float]  # CPU seconds per second of the run, by part (1.0 = one core)
    ceiling: float = 0.0
    load: str = ""


def steady(samples: list[tuple[float, int, float]], n: int) -> tuple[float, float]:
    """Copies/s and the workers' CPU ms per 1,000 copies between 10 % and 90 % sent."""
    lo = next(s for s in samples if s[1] >= n * 0.1)
    hi = next(s for s in samples if s[1] >= n * 0.9)
    if hi[1] <= lo[1] or hi[0] <= lo[0]:
        return 0.0, 0.0
    return (hi[1] - lo[1]) / (hi[0] - lo[0]), (hi[2] - lo[2]) / (hi[1] - lo[1]) * 1e6


def throughput(lab: Lab, env: dict[str, str], hosts: int, args: argparse.Namespace) -> Throughput:
    message_id, copy_size = queue_copies(args.n, args.size)
    sink, out, where = lab.sink()
    env = {**env, "MMOOC_EMAIL_URL": f"smtp://{where}?tls=none"}
    busy0, total0 = cpu_times()
    start = time.perf_counter()
    workers = [lab.on_host(i, [fanout.MMOOC, "worker", "--once", "--batch", str(args.batch), "--verbosity", "0"],
                           env={**env, "MMOOC_DATA_DIR": str(lab.tmp / f"host{i}")}, cwd=fanout.ROOT)
               for i in range(1, hosts + 1)]
    cpu = CpuWatch({"workers": [w.pid for w in workers], "sink": [sink.pid]}, lab.forward)
    samples = [(0.0, 0, 0.0)]
    while any(w.poll() is None for w in workers):
        time.sleep(0.5)
        cpu.sample()
        samples.append((time.perf_counter() - start, sent(message_id), cpu.workers()))
    seconds = time.perf_counter() - start
    busy1, total1 = cpu_times()
    if any(w.returncode for w in workers):
        sys.exit(f"multihost: a worker exited with {[w.returncode for w in workers]}")
    cpu.sample()
    lab.stop(sink, signal.SIGTERM)
    done = sent(message_id)
    samples.append((seconds, done, cpu.workers()))
    row = Throughput(hosts, done, sink_count(out), seconds, *steady(samples, args.n),
                     (busy1 - busy0) / (total1 - total0), cpu.cores(seconds), load=loadavg())
    row.ceiling = ceiling(lab, hosts, min(args.n, 20_000), copy_size)
    return row


# --- one host killed mid-send ----------------------------------------------------------------

@dataclass
class Received:
    copies: int
    by_recipient: Counter[str]
    message_ids: dict[str, set[str]]
    senders: dict[str, list[str]]  # recipient -> the client address of each copy, in order
    by_host: Counter[str]


def read_dump(dump: Path) -> Received:
    """What smtp-sink wrote with -D: one record per copy, starting with X-Client-Addr."""
    got = Received(0, Counter(), {}, {}, Counter())
    client = rcpt = ""
    with dump.open("rb") as f:
        for line in f:
            if line.startswith(b"X-Client-Addr: "):
                client, rcpt = line[15:].strip().decode(), ""
                got.copies += 1
                got.by_host[client] += 1
            elif line.startswith(b"X-Rcpt-Args: ") and not rcpt:
                rcpt = line[13:].strip().decode().lower().removeprefix("to:").strip("<>")
                got.by_recipient[rcpt] += 1
                got.senders.setdefault(rcpt, []).append(client)
            elif line[:11].lower() == b"message-id:" and rcpt:
                got.message_ids.setdefault(rcpt, set()).add(line[11:].strip().decode())
                rcpt = "-"  # the rest of this copy is its body
    return got


def held_rows(message_id: int) -> dict[int, object]:
    from mmooc.mailer.models import Delivery

    return dict(Delivery.objects.filter(message_id=message_id, status=Delivery.SENDING)
                .values_list("pk", "lease_until"))


def query(sql: str, *params: str) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def sessions(host: int, *, queries: bool = False) -> list[str]:
    """The states of the PostgreSQL sessions a host's worker opened (each names itself host<i>),
    with `queries` each followed by the start of its last statement."""
    rows = query("SELECT state, left(query, 50) FROM pg_stat_activity WHERE datname = %s "
                 "AND application_name = %s", DB_NAME, f"host{host}")
    return [f"{r[0]} ({r[1]}…)" if queries else str(r[0]) for r in rows]


def lock_waiters() -> int:
    return int(query("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                     DB_NAME)[0][0])


def holding_locks(host: int) -> bool:
    """One of the host's sessions is inside a transaction that has written (not just begun)."""
    return bool(query("SELECT 1 FROM pg_stat_activity WHERE datname = %s AND application_name = %s "
                      "AND state = 'idle in transaction' AND query NOT LIKE 'BEGIN%%'", DB_NAME, f"host{host}"))


def freeze_in_transaction(host: int, pid: int, seconds: float) -> bool:
    """Stop the host's worker (SIGSTOP) at a moment one of its sessions is between two statements
    of a transaction that has written (recording a chunk of outcomes), so that it dies holding
    that transaction's locks; False (and the worker stopped anyway) if that was not caught within `seconds`."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        if holding_locks(host):
            os.kill(pid, signal.SIGSTOP)
            time.sleep(0.3)  # what it had written (a COMMIT) still goes out: look again after
            if holding_locks(host):
                return True
            os.kill(pid, signal.SIGCONT)
    os.kill(pid, signal.SIGSTOP)
    return False


@dataclass
class Kill:
    """What happened around the kill, as watched from the outbox and pg_stat_activity."""

    hosts: int
    at: float = 0.0  # seconds from the workers' start
    sent_before: int = 0
    aimed: bool = False  # the kill waited for the host to be inside a transaction
    sessions: list[str] = field(default_factory=list)  # the dead host's sessions just after
    orphans: set[int] = field(default_factory=set)  # rows it held, left in `sending`
    taken_back: float | None = None  # seconds after the kill
    sessions_closed: float | None = None  # seconds after the kill
    waiters: int = 0  # most sessions of other hosts seen waiting on a lock
    settled: float | None = None  # seconds from the workers' start

    @property
    def victim(self) -> int:
        return self.hosts


def kill_host(lab: Lab, worker: subprocess.Popen[bytes], kill: Kill, args: argparse.Namespace,
              message_id: int, start: float) -> float:
    kill.sent_before = sent(message_id)
    if args.in_transaction:
        kill.aimed = freeze_in_transaction(kill.victim, worker.pid, 30)
    run(IP, "link", "set", f"{NS}{kill.victim}-link", "down")  # the host drops off the network …
    lab.stop(worker)  # … and dies (SIGKILL; a stopped process dies too)
    killed = time.perf_counter()
    kill.at = killed - start
    kill.sessions = sessions(kill.victim, queries=True)
    held = held_rows(message_id)
    # The other hosts record their batches in well under a second and renew their leases;
    # what is still `sending` with the lease it had at the kill is the dead host's.
    time.sleep(min(5.0, args.lease / 3))
    kill.orphans = {pk for pk, until in held_rows(message_id).items() if held.get(pk) == until}
    return killed


def watch_recovery(kill: Kill, message_id: int, n: int, killed: float, start: float, wait: float) -> None:
    from mmooc.mailer.models import Delivery

    while time.perf_counter() < killed + wait:
        now = time.perf_counter() - killed
        kill.waiters = max(kill.waiters, lock_waiters())
        if kill.sessions_closed is None and not sessions(kill.victim):
            kill.sessions_closed = now
        if kill.taken_back is None and not Delivery.objects.filter(pk__in=kill.orphans,
                                                                   status=Delivery.SENDING).exists():
            kill.taken_back = now
        counts = statuses(message_id)
        if counts[Delivery.SENT] + counts[Delivery.FAILED] + counts[Delivery.SUPPRESSED] >= n:
            kill.settled = time.perf_counter() - start
            return
        time.sleep(0.5)


def kill_one(lab: Lab, env: dict[str, str], args: argparse.Namespace) -> None:
    from mmooc.mailer.models import Delivery

    kill = Kill(args.kill_hosts)
    message_id, _ = queue_copies(args.n, args.size)
    dump_dir = lab.tmp / "dump"
    dump_dir.mkdir(mode=0o777)
    dump_dir.chmod(0o777)  # smtp-sink writes as nobody
    sink, out, where = lab.sink(dump_dir / "sink.dump")
    workers = {i: lab.on_host(i, [fanout.MMOOC, "worker", "--batch", str(args.batch), "--lease", str(args.lease),
                                  "--verbosity", "0"],
                              env={**env, "MMOOC_EMAIL_URL": f"smtp://{where}?tls=none",
                                   "MMOOC_MAIL_RATE": str(args.rate),
                                   "DATABASE_URL": f"{env['DATABASE_URL']}?application_name=host{i}",
                                   "MMOOC_DATA_DIR": str(lab.tmp / f"host{i}")}, cwd=fanout.ROOT)
               for i in range(1, kill.hosts + 1)}
    start = time.perf_counter()
    while sent(message_id) < args.n * args.kill_at:
        if any(w.poll() is not None for w in workers.values()) or time.perf_counter() - start > 600:
            sys.exit("multihost: a worker exited, or the copies did not go out, before the kill")
        time.sleep(0.1)
    killed = kill_host(lab, workers[kill.victim], kill, args, message_id, start)
    watch_recovery(kill, message_id, args.n, killed, start, args.lease + 120)
    for i, w in workers.items():
        if i != kill.victim:
            lab.stop(w, signal.SIGTERM)  # finish the batch in hand, then exit
    lab.stop(sink, signal.SIGTERM)
    twice = Delivery.objects.filter(message_id=message_id, attempts__gt=1).count()
    report_kill(args, kill, statuses(message_id), twice, sink_count(out), read_dump(dump_dir / "sink.dump"))
    print(f"  PostgreSQL connections of the dead host closed by the forward's keepalives: {lab.forward_timeouts()}")


def after(seconds: float | None, what: str) -> str:
    return f"{seconds:.1f} s after the kill" if seconds is not None else f"NOT {what} within the wait"


def report_kill(args: argparse.Namespace, kill: Kill, counts: Counter[str], claimed_twice: int, at_sink: int,
                got: Received) -> None:
    dupes = {r: n for r, n in got.by_recipient.items() if n > 1}
    one_id = all(len(got.message_ids.get(r, ())) == 1 for r in dupes)
    dead_first = sum(1 for r in dupes if got.senders[r][0] == address(kill.victim))
    missing = args.n - len(got.by_recipient)
    print(f"\nkill: {kill.hosts} hosts, {args.n} copies, lease {args.lease} s, MMOOC_MAIL_RATE {args.rate:g}, "
          f"load average {loadavg()}")
    print(f"  host {kill.victim} ({address(kill.victim)}) lost its link and was killed (SIGKILL) at {kill.at:.1f} s, "
          f"{kill.sent_before} copies sent" + (", inside a transaction" if kill.aimed else ""))
    print("  its PostgreSQL sessions just after: " + ("; ".join(kill.sessions) or "none"))
    print("  … closed                         " + after(kill.sessions_closed, "closed"))
    print(f"  other hosts' sessions waiting on a lock: at most {kill.waiters}")
    print(f"  rows it held, left in `sending`  {len(kill.orphans)}; taken back by the other hosts "
          + after(kill.taken_back, "taken back"))
    print("  all copies settled               "
          + (f"{kill.settled:.1f} s after the start" if kill.settled else "NOT within the wait"))
    print(f"  outbox                           {dict(sorted(counts.items()))}; claimed more than once: {claimed_twice}")
    print(f"  sink                             {got.copies} copies ({at_sink} by its counter) to "
          f"{len(got.by_recipient)} recipients; per host: "
          + ", ".join(f"{h} {n}" for h, n in sorted(got.by_host.items())))
    print(f"  not at the sink                  {missing}")
    print(f"  delivered twice                  {len(dupes)} ({dead_first} first sent by the dead host); "
          f"same Message-ID each time: {'yes' if one_id else 'NO'}")
    if missing or counts["sent"] != args.n or not one_id:
        sys.exit("multihost: copies were lost, left unsent, or sent again with another Message-ID")


# --- the run ------------------------------------------------------------------------------

def report(rows: list[Throughput]) -> None:
    base = min(rows, key=lambda r: r.hosts).steady or 1.0
    print("\nhosts  sent    at sink  seconds  copies/s  steady/s  ×fewest  ceiling/s  ratio  load average")
    for r in rows:
        print(f"{r.hosts:>5}  {r.sent:>6}  {r.at_sink:>7}  {r.seconds:>7.1f}  {r.sent / r.seconds:>8,.0f}  "
              f"{r.steady:>8,.0f}  {r.steady / base:>6.2f}×  {r.ceiling:>9,.0f}  {r.steady / r.ceiling:>5.0%}  "
              f"{r.load}")
    print("copies/s: from the workers' start to the last one's exit (start-up included); steady/s: between "
          "10 % and 90 % sent; ratio: steady/s to the sink's ceiling over as many connections.")
    print("\nhosts  machine busy  CPU in cores: workers  postgres  forward  sink  (sum)  "
          "workers' CPU ms per 1,000 copies: all, steady")
    for r in rows:
        c = r.cores
        print(f"{r.hosts:>5}  {r.busy:>12.0%}  {c['workers']:>21.2f}  {c['postgres']:>8.2f}  {c['forward']:>7.2f}  "
              f"{c['sink']:>4.2f}  {sum(c.values()):>5.2f}  {c['workers'] * r.seconds / r.sent * 1e6:>10,.0f}  "
              f"{r.steady_cpu:>6,.0f}")
    print("machine busy: the share of both cores busy during the run, other people's work included; "
          "CPU in cores: CPU seconds per second of the run (start-up included).")


def setup(args: argparse.Namespace, lab: Lab) -> dict[str, str]:
    pg = urlsplit(args.pg_url)
    url = fanout.database_url(argparse.Namespace(db="postgres", pg_url=args.pg_url), lab.tmp, DB_NAME)
    if args.idle_tx_timeout:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:  # on this database only; it is dropped at the end
            conn.execute(f"ALTER DATABASE {DB_NAME} SET idle_in_transaction_session_timeout = "
                         f"'{args.idle_tx_timeout}s'")
    lab.forward_postgres(pg.hostname or "127.0.0.1", pg.port or 5432, keepalive=not args.no_keepalive)
    on_bridge = pg._replace(netloc=f"{pg.username or 'postgres'}@{GATEWAY}:{pg.port or 5432}").geturl()
    env = {**os.environ, "MMOOC_DATA_DIR": str(lab.tmp), "DATABASE_URL": url, "MMOOC_MAIL_RATE": "0",
           "MMOOC_MAIL_BATCH": str(args.batch), "DJANGO_SETTINGS_MODULE": "mmooc.settings",
           "MMOOC_LOG_LEVEL": "WARNING", "SECRET_KEY": "bench-secret-key-" + "x" * 40}
    os.environ.update(env)  # this process reads the outbox on 127.0.0.1 …
    import django

    django.setup()
    hosts_env = {**env, "DATABASE_URL": f"{on_bridge}/{DB_NAME}"}  # … the hosts through the forward
    time.sleep(0.3)
    if lab.on_host(1, [fanout.MMOOC, "migrate", "-v", "0"], env=hosts_env, cwd=fanout.ROOT).wait():
        sys.exit("multihost: migrate from host 1 through the forward failed")
    for i in range(1, lab.hosts + 1):
        (lab.tmp / f"host{i}").mkdir()
    return hosts_env


def drop_database(pg_url: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(f"{pg_url}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=50_000, help="copies per run (default 50000)")
    ap.add_argument("--hosts", default="1,2,3,4", help="host counts to measure (default 1,2,3,4; '' for none)")
    ap.add_argument("--kill-hosts", type=int, default=4, help="hosts in the kill run (default 4; 0: no kill run)")
    ap.add_argument("--kill-at", type=float, default=0.3, help="share of copies sent when a host dies")
    ap.add_argument("--lease", type=int, default=45, help="the workers' --lease in the kill run (default 45 s)")
    ap.add_argument("--size", type=int, default=10_240, help="approximate message size in bytes")
    ap.add_argument("--batch", type=int, default=500, help="deliveries per batch")
    ap.add_argument("--in-transaction", action="store_true",
                    help="kill the host while its worker is inside a transaction (recording outcomes): "
                         "it is stopped (SIGSTOP) at such a moment, then loses its link and is killed")
    ap.add_argument("--no-keepalive", action="store_true",
                    help="no TCP keepalives on the PostgreSQL forward (PostgreSQL's default: the OS's 2 hours)")
    ap.add_argument("--rate", type=float, default=0,
                    help="MMOOC_MAIL_RATE in the kill run (default 0: no limit; a limit takes a row lock "
                         "in a transaction before every batch)")
    ap.add_argument("--idle-tx-timeout", type=int, default=0,
                    help="seconds: PostgreSQL's idle_in_transaction_session_timeout on the bench's database")
    ap.add_argument("--delay-ms", type=float, default=0.0, help="tc netem latency on each host's link")
    ap.add_argument("--keep-db", action="store_true", help=f"keep the database {DB_NAME}")
    ap.add_argument("--clean", action="store_true", help="remove what an interrupted run left, and exit")
    ap.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432"))
    args = ap.parse_args()
    if args.clean:
        return clean()
    if os.geteuid() != 0:
        sys.exit("multihost: network namespaces need root")
    counts = [int(h) for h in args.hosts.split(",") if h]
    lab = Lab(max([*counts, args.kill_hosts, 1]), Path(tempfile.mkdtemp(prefix="mmooc-multihost-")))
    lab.tmp.chmod(0o755)
    atexit.register(lab.close)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("multihost: stopped"))  # runs the finally below
    try:
        lab.build(args.delay_ms)
        env = setup(args, lab)
        print(f"{lab.hosts} hosts on {BRIDGE}; load average {loadavg()} at the start; {os.cpu_count()} cores")
        rows = [throughput(lab, env, h, args) for h in counts]
        if rows:
            report(rows)
        if args.kill_hosts:
            kill_one(lab, env, args)
    finally:
        lab.close()
        if not args.keep_db:
            drop_database(args.pg_url)
        fanout.shutil.rmtree(lab.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
