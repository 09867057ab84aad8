"""A private Postfix instance for tests, configured from the fragments in deploy/postfix/.

    with PrivatePostfix(tmp_path, lmtp_port=…, socketmap_port=…, relay_port=…) as mta:
        smtplib.SMTP("127.0.0.1", mta.smtp_port)        # inbound, as port 25 would be
        smtplib.SMTP("127.0.0.1", mta.outbound_port)    # outbound, as mmooc worker uses it

Debian's postfix package, nothing system-wide: its own configuration directory, queue
directory and data directory under the test's temporary folder, listening on loopback
high ports only, its log in a file. The inbound and outbound lines are the deployed
fragments' own, with only what a test must change replaced (ports, chroot, the OpenDKIM
milter, which no test runs); a fragment that stops working fails the test.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

from mmooc import testing

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "postfix"
LIST_DOMAIN = "lists.course.example.org"

# The services a Postfix instance needs besides the fragments', none chrooted.
BASE_MASTER_CF = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def postfix_command(*args: str) -> list[str]:
    return [testing.find_tool("postfix") or "postfix", *args]


def main_cf(root: Path, *, lmtp_port: int, socketmap_port: int, relay_port: int | None) -> str:
    """The deployed main.cf fragment, with the instance's own directories and ports."""
    fragment = (DEPLOY / "main.cf").read_text()
    fragment = fragment.replace("socketmap:inet:127.0.0.1:8026:", f"socketmap:inet:127.0.0.1:{socketmap_port}:")
    fragment = fragment.replace("hash:/etc/postfix/mmooc_transport", f"hash:{root}/config/mmooc_transport")
    if relay_port is not None:
        fragment = re.sub(r"(?m)^relayhost =.*$", f"relayhost = [127.0.0.1]:{relay_port}", fragment)
    return f"""\
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.course.example.org
mydomain = course.example.org
mydestination =
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
smtpd_peername_lookup = no
smtp_host_lookup = native
smtp_dns_support_level = disabled
smtputf8_enable = no
{fragment}"""


def master_cf(*, smtp_port: int, outbound_port: int) -> str:
    """The deployed master.cf fragment on the instance's ports, unchrooted and without the milter."""
    fragment = (DEPLOY / "master.cf").read_text()
    fragment = re.sub(r"(?m)^smtp(\s+)inet", f"127.0.0.1:{smtp_port}\\1inet", fragment)
    fragment = fragment.replace("127.0.0.1:10587 inet", f"127.0.0.1:{outbound_port} inet")
    fragment = re.sub(r"(?m)^(\S+\s+inet\s+\S+\s+\S+\s+)y(\s)", r"\1n\2", fragment)
    fragment = re.sub(r"(?m)^\s+-o smtpd_milters=.*\n", "", fragment)
    return BASE_MASTER_CF + fragment


def transport(lmtp_port: int) -> str:
    return (DEPLOY / "mmooc_transport").read_text().replace("lmtp:[127.0.0.1]:8024", f"lmtp:[127.0.0.1]:{lmtp_port}")


def write_deployed_config(root: Path) -> Path:
    """A configuration folder holding the fragments as deployed (for `postfix check`), nothing replaced."""
    config = root / "config"
    config.mkdir(parents=True, exist_ok=True)
    base = main_cf(root, lmtp_port=8024, socketmap_port=8026, relay_port=None)
    fragment = (DEPLOY / "main.cf").read_text()
    (config / "main.cf").write_text(base[:base.index(fragment[:40])] + fragment)
    (config / "master.cf").write_text(BASE_MASTER_CF + (DEPLOY / "master.cf").read_text())
    (root / "queue").mkdir(exist_ok=True)
    return config


def write_config(root: Path, *, lmtp_port: int = 8024, socketmap_port: int = 8026, relay_port: int | None = None,
                 smtp_port: int = 2525, outbound_port: int = 10587) -> Path:
    config = root / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "main.cf").write_text(main_cf(root, lmtp_port=lmtp_port, socketmap_port=socketmap_port,
                                            relay_port=relay_port))
    (config / "master.cf").write_text(master_cf(smtp_port=smtp_port, outbound_port=outbound_port))
    (config / "mmooc_transport").write_text(transport(lmtp_port))
    return config


class PrivatePostfix:
    """A Postfix of the test's own, started with `postfix -c <dir> start`, stopped on exit."""

    def __init__(self, root: Path, *, lmtp_port: int, socketmap_port: int, relay_port: int) -> None:
        self.root = root
        root.mkdir(exist_ok=True)
        self.smtp_port, self.outbound_port = testing.free_port(), testing.free_port()
        self.config = write_config(root, lmtp_port=lmtp_port, socketmap_port=socketmap_port, relay_port=relay_port,
                                   smtp_port=self.smtp_port, outbound_port=self.outbound_port)
        # Postfix's daemons run as its mail_owner and must reach the queue: the folders above
        # it must be open to them (pytest's own temporary folders are not).
        (root / "queue").mkdir(exist_ok=True)
        for folder in (root, *root.parents):
            if folder.stat().st_mode & 0o005 != 0o005:
                raise RuntimeError(f"{folder} is closed to Postfix's daemons: use a folder they can reach")

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(postfix_command("-c", str(self.config), *args), capture_output=True, text=True,
                                timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"postfix {' '.join(args)} failed ({result.returncode}):\n"
                               f"{result.stdout}{result.stderr}\n{self.log()}")
        return result

    def log(self) -> str:
        path = self.root / "maillog"
        return path.read_text(errors="replace") if path.exists() else "(no maillog)"

    def __enter__(self) -> PrivatePostfix:
        postmap = testing.find_tool("postmap") or "postmap"
        subprocess.run([postmap, "-c", str(self.config), f"hash:{self.config}/mmooc_transport"], check=True,
                       timeout=60)
        self.run("check")
        self.run("start")
        testing.wait_for_port("127.0.0.1", self.smtp_port, timeout=30)
        testing.wait_for_port("127.0.0.1", self.outbound_port, timeout=30)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        pid_file = self.root / "queue" / "pid" / "master.pid"
        pid = int(pid_file.read_text().strip() or 0) if pid_file.exists() else 0
        subprocess.run(postfix_command("-c", str(self.config), "stop"), capture_output=True, timeout=120)
        deadline = time.monotonic() + 30
        while pid and _running(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.05)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
