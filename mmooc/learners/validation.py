"""Checks for what visitors and staff type: addresses, names, time zones, languages, answers.

Each check returns the value to store or raises ValidationError with a message a visitor
or a course organizer understands.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from email_validator import EmailNotValidError, validate_email

from mmooc.lib.timezones import canonical_zone

MAX_ADDRESS = 254
MAX_LOCAL = 64
MAX_NAME = 200
MAX_TEXT_ANSWER = 2000

# The languages a learner may choose; groups are formed per language.
LANGUAGES = [
    ("en", "English"), ("es", "Español"), ("fr", "Français"), ("de", "Deutsch"),
    ("pt", "Português"), ("it", "Italiano"), ("nl", "Nederlands"), ("pl", "Polski"),
    ("ru", "Русский"), ("uk", "Українська"), ("tr", "Türkçe"), ("ar", "العربية"),
    ("hi", "हिन्दी"), ("bn", "বাংলা"), ("id", "Bahasa Indonesia"), ("vi", "Tiếng Việt"),
    ("zh", "中文"), ("ja", "日本語"), ("ko", "한국어"), ("sw", "Kiswahili"),
]
LANGUAGE_CODES = frozenset(code for code, _ in LANGUAGES)
# RFC 5322 dot-atom of ASCII atext: the local parts email-validator accepts without quoting.
DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
YES_WORDS = {"1", "true", "yes", "on", "group", "y"}
NO_WORDS = {"0", "false", "no", "off", "solo", "n", "alone"}


def clean_address(raw: object) -> str:
    """One bare address, ASCII on the wire: IDN domains become their IDNA2008 form."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationError(_("Please enter your email address."))
    value = raw.strip()
    if len(value) > MAX_ADDRESS:
        raise ValidationError(_("That address is too long: at most %(n)d characters.") % {"n": MAX_ADDRESS})
    if any(ch in value for ch in "\r\n\0"):
        raise ValidationError(_("An email address must be on one line."))
    local = value.rpartition("@")[0]
    if len(local) > MAX_LOCAL:
        raise ValidationError(_("The part before the @ is too long: at most %(n)d characters.") % {"n": MAX_LOCAL})
    if local and not local.isascii():
        raise ValidationError(_("Letters outside A–Z before the @ are not supported yet; "
                                "please use another address."))
    domain = value.rpartition("@")[2]
    if DOT_ATOM.fullmatch(local):
        # The common case: a plain local part; the domain's check is shared by its addresses.
        address = f"{local}@{_checked_domain(domain)}"
    else:
        address = _validate(value)
    if len(address) > MAX_ADDRESS:
        raise ValidationError(_("That address is too long: at most %(n)d characters.") % {"n": MAX_ADDRESS})
    return address


def _validate(value: str) -> str:
    try:
        info = validate_email(value, check_deliverability=False, allow_smtputf8=False,
                              allow_display_name=False, allow_quoted_local=False)
    except EmailNotValidError as exc:
        raise ValidationError(_("That does not look like an email address: %(problem)s") % {"problem": exc}) from None
    assert info.ascii_email is not None  # allow_smtputf8=False refuses addresses without an ASCII form
    return info.ascii_email


@lru_cache(maxsize=4096)
def _checked_domain(domain: str) -> str:
    """The domain's ASCII (IDNA2008) form, checked once per domain by email-validator."""
    return _validate(f"a@{domain}").rpartition("@")[2]


def clean_name(raw: object) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise ValidationError(_("The name must be text."))
    if "\r" in raw or "\n" in raw or "\0" in raw:
        raise ValidationError(_("The name must be on one line."))
    value = " ".join(raw.split())
    if len(value) > MAX_NAME:
        raise ValidationError(_("The name is too long: at most %(n)d characters.") % {"n": MAX_NAME})
    return value


def clean_timezone(raw: object) -> str:
    if not isinstance(raw, str):
        raise ValidationError(_("Please choose your time zone."))
    return canonical_zone(raw)


def clean_language(raw: object) -> str:
    value = raw.strip() if isinstance(raw, str) else ""
    if not value:
        return "en"
    if value not in LANGUAGE_CODES:
        raise ValidationError(_("%(value)r is not one of the languages offered.") % {"value": value[:20]})
    return value


def clean_group(raw: object) -> bool:
    """True for 'study in a group', False for 'on my own'; a group when not said."""
    if isinstance(raw, bool):
        return raw
    if raw is None or raw == "":
        return True
    value = str(raw).strip().lower()
    if value in YES_WORDS:
        return True
    if value in NO_WORDS:
        return False
    raise ValidationError(_("Say 'group' (true) or 'on my own' (false)."))


def clean_answers(questions: list[dict], raw: object) -> dict:
    """Answers keyed by question id, checked against the course's declared questions."""
    if raw in (None, ""):
        raw = {}
    if not isinstance(raw, dict):
        raise ValidationError(_("Answers must be an object keyed by question id."))
    declared = {q.get("id"): q for q in questions if q.get("id")}
    unknown = sorted(str(k)[:40] for k in raw if k not in declared)
    if unknown:
        raise ValidationError(_("This course has no question %(ids)s.") % {"ids": ", ".join(unknown)})
    answers, problems = {}, []
    for qid, question in declared.items():
        try:
            value = _answer(question, raw.get(qid))
        except ValidationError as exc:
            problems.append(f"{question.get('label') or qid}: {exc.messages[0]}")
            continue
        if value is not None:
            answers[qid] = value
    if problems:
        raise ValidationError(problems)
    return answers


def _answer(question: dict, value: object) -> object:
    kind = question.get("type", "text")
    empty = value is None or value == "" or value == []
    if empty:
        if question.get("required"):
            raise ValidationError(_("an answer is needed."))
        return None
    if kind == "multiple":
        values = value if isinstance(value, list) else [value]
        return [_choice(question, v) for v in values]
    if kind == "single":
        return _choice(question, value)
    if kind == "yesno":
        try:
            return clean_group(value)
        except ValidationError:
            raise ValidationError(_("answer yes or no.")) from None
    if not isinstance(value, str):
        raise ValidationError(_("the answer must be text."))
    if len(value) > MAX_TEXT_ANSWER:
        raise ValidationError(_("at most %(n)d characters.") % {"n": MAX_TEXT_ANSWER})
    return value.strip()


def _choice(question: dict, value: object) -> str:
    choices = [str(c) for c in question.get("choices", [])]
    if not isinstance(value, str) or value not in choices:
        raise ValidationError(_("%(value)r is not one of the choices.") % {"value": str(value)[:40]})
    return value


def _zone_tab_paths() -> list[Path]:
    import tzdata  # a dependency: the zone tables travel with the package

    return [Path(os.path.dirname(tzdata.__file__)) / "zoneinfo", Path("/usr/share/zoneinfo")]


@lru_cache(maxsize=1)
def zone_countries() -> dict[str, str]:
    """IANA zone → ISO country code: zone.tab (one country per zone), then zone1970.tab."""
    found: dict[str, str] = {}
    for base in _zone_tab_paths():
        for name in ("zone1970.tab", "zone.tab"):
            path = base / name
            if not path.exists():
                continue
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.startswith("#") or not line.strip():
                    continue
                codes, _coordinates, zone_name = line.split("\t")[:3]
                # zone.tab (read last) names the one country each zone is in.
                found[zone_name] = codes.split(",")[0]
        if found:
            break
    return found


def country_for_zone(zone_name: str) -> str:
    return zone_countries().get(zone_name, "")


FIELD_CHECKS = (("email", clean_address), ("name", clean_name), ("timezone", clean_timezone),
                ("language", clean_language), ("group", clean_group))


def check_signup(questions: list[dict], data: Mapping[str, object], answers: object
                 ) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The signup API's fields checked without a form: (cleaned values, errors by field)."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, check in FIELD_CHECKS:
        value = data.get(name)
        if name in ("email", "timezone") and value in (None, ""):
            errors[name] = ["This field is required."]
            continue
        try:
            cleaned[name] = check(value)
        except ValidationError as exc:
            errors[name] = exc.messages
    try:
        cleaned["answers"] = clean_answers(questions, answers)
    except ValidationError as exc:
        errors["answers"] = exc.messages
    return cleaned, errors
