"""`mmooc serve` as an operator runs it: web, engine and LMTP up, a clean stop on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from mmooc.testing import free_port


def wait_for(url: str, deadline: float) -> dict:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_it_serves_web_and_lmtp_and_stops_cleanly_on_sigterm(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env.update(MMOOC_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="mmooc.settings")
    subprocess.run([sys.executable, "-m", "mmooc.cli", "migrate", "-v0"], env=env, check=True, timeout=300)
    web, lmtp, lookups = free_port(), free_port(), free_port()
    server = subprocess.Popen([sys.executable, "-m", "mmooc.cli", "serve", "--port", str(web),
                               "--lmtp-port", str(lmtp), "--socketmap-port", str(lookups)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        health = wait_for(f"http://127.0.0.1:{web}/healthz", time.monotonic() + 60)
        assert health["database"] == "ok"
        with smtplib.LMTP("127.0.0.1", lmtp) as client:
            code, _ = client.ehlo()  # smtplib.LMTP sends LHLO here
            assert code == 250
        with socket.create_connection(("127.0.0.1", lookups), timeout=10) as conn:
            conn.sendall(b"28:recipient nobody@example.org,")  # Postfix's socketmap lookup
            assert conn.recv(100) == b"9:NOTFOUND ,"
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=90)
    assert server.returncode == 0, output
    assert "Serving on" in output
    assert f"mmooc serve starting (pid {server.pid}, " in output
    assert f"listen 127.0.0.1:{web}; engine on; lmtp 127.0.0.1:{lmtp}" in output
    assert "Stopped." in output


def test_it_refuses_an_unmigrated_database(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env.update(MMOOC_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="mmooc.settings")
    result = subprocess.run([sys.executable, "-m", "mmooc.cli", "serve", "--port", str(free_port())],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "run `mmooc migrate` first" in result.stderr


def test_an_https_site_behind_its_local_proxy_redirects_plain_http_only(tmp_path):
    """With an https base URL plain HTTP is redirected; the proxy's X-Forwarded-Proto is believed."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env.update(MMOOC_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="mmooc.settings",
               MMOOC_BASE_URL="https://127.0.0.1", MMOOC_ALLOWED_HOSTS="127.0.0.1")
    subprocess.run([sys.executable, "-m", "mmooc.cli", "migrate", "-v0"], env=env, check=True, timeout=300)
    web = free_port()
    server = subprocess.Popen([sys.executable, "-m", "mmooc.cli", "serve", "--port", str(web),
                               "--lmtp-port", "0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        wait_for(f"http://127.0.0.1:{web}/healthz", time.monotonic() + 60)
        try:
            opener.open(f"http://127.0.0.1:{web}/dashboard/login/", timeout=10)
            raise AssertionError("plain HTTP was not redirected")
        except urllib.error.HTTPError as exc:
            assert exc.code == 301 and exc.headers["Location"] == f"https://127.0.0.1:{web}/dashboard/login/"
        request = urllib.request.Request(f"http://127.0.0.1:{web}/dashboard/login/",
                                         headers={"X-Forwarded-Proto": "https"})
        with opener.open(request, timeout=10) as response:
            assert response.status == 200
            assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=90)
    assert server.returncode == 0, output
