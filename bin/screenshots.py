"""Screenshots of the dashboard's main pages for docs/dashboard.md, from a running server.

    python bin/screenshots.py http://127.0.0.1:8000 USERNAME PASSWORD docs/screenshots

Signs in through the form, then saves each page at 1280 px wide (full page) and the cohort
overview again at 390 px, the width of a phone. Uses Playwright with the system's chromium.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

# The same browser as the tests (mmooc.testing, which needs Django set up to import).
CHROMIUM_PATH = os.environ.get("MMOOC_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _first_link(page: Page, pattern: str) -> str:
    href = page.locator(f"a[href*='{pattern}']").first.get_attribute("href")
    if not href:
        raise SystemExit(f"no link containing {pattern!r} on {page.url}")
    return href


def _sign_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/dashboard/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard/")


def take(base: str, username: str, password: str, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    saved = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        _sign_in(page, base, username, password)
        page.screenshot(path=out / "home.png", full_page=True)
        saved.append(out / "home.png")
        cohort = _first_link(page, "/dashboard/cohorts/")
        slug = cohort.split("/cohorts/", 1)[1].split("/", 1)[0]
        page.goto(base + cohort)
        email = _first_link(page, "/dashboard/emails/")
        pages = {"overview": cohort, "email": email, "groups": f"/dashboard/cohorts/{slug}/groups/?quiet=1",
                 "group": f"/dashboard/cohorts/{slug}/groups/1/", "cost": f"/dashboard/cohorts/{slug}/cost/",
                 "exports": f"/dashboard/cohorts/{slug}/export/", "audit": "/dashboard/audit/",
                 "group-health": f"/dashboard/cohorts/{slug}/groups/health/",
                 "group-remedies": f"/dashboard/cohorts/{slug}/groups/remedies/"}
        for name, path in pages.items():
            page.goto(base + path)
            page.screenshot(path=out / f"{name}.png", full_page=True)
            saved.append(out / f"{name}.png")
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(base + cohort)
        page.screenshot(path=out / "overview-phone.png")  # what a phone shows first
        saved.append(out / "overview-phone.png")
        browser.close()
    return saved


if __name__ == "__main__":
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    for path in take(sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3], Path(sys.argv[4])):
        print(path)
