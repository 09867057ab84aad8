"""Update the message catalogues from the code, compile them, and say what is left to translate."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from mmooc.lib import catalogues

# Folders whose strings do not ship (tests, test helpers, front-end files).
IGNORED = ["tests/*", "*/tests/*", "testing/*", "static/*"]


class Command(BaseCommand):
    help = ("Extract the strings to translate into mmooc/locale (needs GNU gettext's xgettext), compile "
            "every catalogue (pure Python), and print translated, fuzzy and untranslated counts.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-extract", action="store_true",
                            help="Only compile and count (no xgettext needed).")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_extract"]:
            self.extract()
        failing = 0
        for name, path in catalogues.catalogues().items():
            entries = catalogues.read(path)
            path.with_suffix(".mo").write_bytes(catalogues.compile_mo(entries))
            counts = catalogues.statistics(entries)
            left = catalogues.missing(entries)
            failing += bool(left)
            self.stdout.write(f"{name:6} {counts['translated']} translated, {counts['fuzzy']} fuzzy, "
                              f"{counts['untranslated']} untranslated; learner-facing left: {len(left)}")
            for entry in left[:20]:
                self.stdout.write(f"         {entry.msgid[:70]!r}  ({', '.join(entry.references[:2])})")
        if failing:
            self.stdout.write("Translate the entries above (and clear their fuzzy flag), then run this again.")

    def extract(self) -> None:
        if shutil.which("xgettext") is None:
            self.stderr.write("xgettext not found: install GNU gettext to extract new strings "
                              "(apt-get install gettext); compiling the catalogues as they are.")
            return
        codes = [code.split("-")[0] + ("_" + code.split("-")[1].upper() if "-" in code else "")
                 for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
        here = Path.cwd()
        os.chdir(catalogues.LOCALE_DIR.parent)
        try:
            call_command("makemessages", locale=codes, no_wrap=True, ignore_patterns=IGNORED, verbosity=0)
        finally:
            os.chdir(here)
