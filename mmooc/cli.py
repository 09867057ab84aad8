"""The `mmooc` command: the project's management commands with the project's settings."""

from __future__ import annotations

import os
import select
import sys

# The exit status of a command whose reader closed the pipe: 128 + SIGPIPE, as for tools
# the signal ends.
PIPE_CLOSED = 141

# Django's own commands an operator needs, listed after ours in `mmooc --help`.
DJANGO_COMMANDS = {
    "migrate": "Create or update the database tables.",
    "createsuperuser": "Create a staff account with every permission.",
    "changepassword": "Change a staff account's password.",
    "check": "Check the configuration and report problems.",
    "shell": "Open a Python shell with the project loaded.",
    "dbshell": "Open the database's own shell.",
    "collectstatic": "Copy static files to STATIC_ROOT for a front web server.",
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    argv[0] = "mmooc"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mmooc.settings")
    from django.core.exceptions import ImproperlyConfigured

    try:
        import django

        django.setup()
    except ImproperlyConfigured as exc:
        print(f"mmooc: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        run(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        if not _stdout_closed():
            raise  # a socket, not our reader: a real error
        # The reader stopped early (`mmooc group export … | head`): end quietly, as other tools
        # do. Whatever is still buffered goes nowhere, so the exit flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return PIPE_CLOSED
    return 0


def run(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1:] in (["-h"], ["--help"], ["help"]):
        print(usage())
        return
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


def _stdout_closed() -> bool:
    """Whether standard output is a pipe whose reader has gone (poll reports an error on it)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError):
        return False


def usage() -> str:
    from django.core.management import get_commands, load_command_class

    ours = {
        name: app
        for name, app in get_commands().items()
        if isinstance(app, str) and app.startswith("mmooc.")
    }
    lines = ["usage: mmooc <command> [options]    (mmooc <command> --help for its options)", ""]
    lines.append("Commands:")
    for name in sorted(ours):
        text = (load_command_class(ours[name], name).help or "").strip().splitlines()
        lines.append(f"  {name:<16}{text[0] if text else ''}")
    lines += ["", "Django commands:"]
    lines += [f"  {name:<16}{text}" for name, text in DJANGO_COMMANDS.items()]
    lines += ["", "mmooc help --all lists every command Django provides."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
