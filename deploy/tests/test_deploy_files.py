"""The files in deploy/ pass their own tools' checks, and agree with each other and the code.

nginx -t on the site (with a certificate made here), systemd-analyze verify on the units,
postfix check and postconf on the Postfix fragments: what can be checked without a
network. Under CI a missing tool fails these tests (.ci/run installs them).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from mmooc import testing
from mmooc.lists.tests.postfix import postfix_command, write_deployed_config

DEPLOY = Path(__file__).resolve().parents[1]
ROOT = DEPLOY.parent
VENV_BIN = Path(sys.executable).parent


def env_file() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / "mmooc.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value.strip('"')
    return values


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A temporary folder unprivileged daemons can reach (pytest's are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="mmooc-deploy-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.tool("nginx", "openssl")
def test_the_nginx_site_passes_nginx_t(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([testing.find_tool("openssl") or "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-days", "1", "-subj", "/CN=course.example.org", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    site = (DEPLOY / "nginx" / "mmooc.conf").read_text()
    site = site.replace("/etc/letsencrypt/live/course.example.org/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/course.example.org/privkey.pem", str(key))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
                                         f"events {{}}\nhttp {{\n    access_log off;\n"
                                         f"    include {tmp_path}/site.conf;\n}}\n")
    result = subprocess.run([testing.find_tool("nginx") or "nginx", "-t", "-c", str(tmp_path / "nginx.conf"),
                             "-p", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    assert "[warn]" not in result.stderr and "[emerg]" not in result.stderr, result.stderr


def test_the_nginx_site_takes_posts_above_the_post_limit_and_says_who_the_client_is():
    site = (DEPLOY / "nginx" / "mmooc.conf").read_text()
    size = re.search(r"client_max_body_size (\d+)m;", site)
    assert size and int(size.group(1)) * 1024 * 1024 > settings.LIST_MAX_POST_BYTES * 4 / 3 + 1024 * 1024
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in site
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in site
    assert f"alias {env_file()['MMOOC_DATA_DIR']}/static/;" in site
    assert "server 127.0.0.1:8000;" in site
    assert "--bind 127.0.0.1:8000" in (DEPLOY / "systemd" / "mmooc-web.service").read_text()


def test_the_sample_environment_trusts_the_nginx_that_forwards_to_gunicorn():
    """nginx connects to gunicorn from loopback (upstream 127.0.0.1:8000): the sample trusts
    exactly that, so its X-Forwarded-For names the client and nobody else's does."""
    from mmooc.lib.clients import in_networks
    from mmooc.lib.env import env_networks

    trusted = env_networks("MMOOC_TRUSTED_PROXIES", [], env_file())
    assert in_networks("127.0.0.1", trusted) and in_networks("::1", trusted)
    assert not in_networks("10.0.0.1", trusted) and not in_networks("192.0.2.1", trusted)


@pytest.mark.tool("systemd-analyze")
def test_the_systemd_units_pass_systemd_analyze_verify(tmp_path):
    units = []
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        # The programs must exist for verify: this checkout's own, where /srv/mmooc has them.
        text = unit.read_text().replace("/srv/mmooc/.venv/bin/", f"{VENV_BIN}/")
        (tmp_path / unit.name).write_text(text)
        units.append(str(tmp_path / unit.name))
    assert [Path(u).name for u in units] == ["mmooc-lmtp.service", "mmooc-web.service", "mmooc-worker.service"]
    result = subprocess.run([testing.find_tool("systemd-analyze") or "systemd-analyze", "verify", "--man=no",
                             *units], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == ""


def test_the_units_run_what_the_docs_say_with_the_sample_environment():
    for name, command in (("web", "gunicorn mmooc.wsgi"), ("worker", "mmooc worker"), ("lmtp", "mmooc lmtp")):
        unit = (DEPLOY / "systemd" / f"mmooc-{name}.service").read_text()
        assert f"ExecStart=/srv/mmooc/.venv/bin/{command}" in unit
        assert "EnvironmentFile=/etc/mmooc/mmooc.env" in unit
        assert f"ReadWritePaths={env_file()['MMOOC_DATA_DIR']}" in unit


def test_the_sample_environment_names_only_documented_variables():
    documented = (ROOT / "docs" / "configuration.md").read_text()
    for name in env_file():
        assert f"`{name}`" in documented, name


@pytest.mark.tool("postfix", "postconf")
def test_the_postfix_fragments_pass_postfix_check(open_folder):
    config = write_deployed_config(open_folder)
    check = subprocess.run(postfix_command("-c", str(config), "check"), capture_output=True, text=True,
                           timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "warning" not in check.stdout + check.stderr, check.stdout + check.stderr
    postconf = testing.find_tool("postconf") or "postconf"
    for args in (["-n"], ["-M"], ["-P"]):
        shown = subprocess.run([postconf, "-c", str(config), *args], capture_output=True, text=True, timeout=60)
        assert shown.returncode == 0 and "warning" not in shown.stderr, shown.stderr
    settings_ = subprocess.run([postconf, "-c", str(config), "-h", "relay_recipient_maps", "transport_maps"],
                               capture_output=True, text=True, timeout=60).stdout.split()
    assert settings_ == ["socketmap:inet:127.0.0.1:8026:recipient", "hash:/etc/postfix/mmooc_transport"]


def test_the_postfix_fragments_point_where_mmooc_listens():
    env = env_file()
    lists = env["MMOOC_LIST_DOMAIN"]
    transport = (DEPLOY / "postfix" / "mmooc_transport").read_text()
    assert f"\n{lists}   lmtp:[{env['MMOOC_LMTP_HOST']}]:{env['MMOOC_LMTP_PORT']}\n" in transport
    main = (DEPLOY / "postfix" / "main.cf").read_text()
    assert f"relay_domains = {lists}\n" in main
    assert f"socketmap:inet:{env['MMOOC_SOCKETMAP_HOST']}:{env['MMOOC_SOCKETMAP_PORT']}:recipient" in main
    master = (DEPLOY / "postfix" / "master.cf").read_text()
    outbound = re.search(r"smtp://(127\.0\.0\.1:\d+)\?tls=none", env["MMOOC_EMAIL_URL"])
    assert outbound and f"\n{outbound.group(1)} inet" in master
    limit = re.search(r"-o message_size_limit=(\d+)", master)
    # Posts between the two limits reach mmooc, which holds them for staff (too big).
    assert limit and settings.LIST_MAX_POST_BYTES < int(limit.group(1)) < settings.LIST_MAX_HELD_POST_BYTES
    relayed = re.search(r"\nmessage_size_limit = (\d+)\n", main)
    assert relayed and int(relayed.group(1)) > settings.LIST_MAX_HELD_POST_BYTES  # an approved one goes out


def test_the_compose_file_runs_web_worker_lmtp_and_postgresql():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"web", "worker", "lmtp", "db"}
    assert services["worker"]["command"] == ["mmooc", "worker"]
    assert services["lmtp"]["command"][:2] == ["mmooc", "lmtp"]
    assert services["db"]["image"].startswith("postgres:")
    for name in ("web", "worker", "lmtp"):
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgres://")
        assert services[name]["depends_on"]["db"]["condition"] == "service_healthy"
    assert all(port.startswith("127.0.0.1:") for s in services.values() for port in s.get("ports", []))


def test_the_dockerfile_installs_the_production_lock_with_hashes():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "pip install --require-hashes -r deploy/requirements.lock" in dockerfile
    assert "pip install --no-deps --no-build-isolation ." in dockerfile
    assert "USER mmooc" in dockerfile
    for copied in re.findall(r"^COPY (\S+)", dockerfile, re.MULTILINE):
        assert (ROOT / copied).exists(), copied
