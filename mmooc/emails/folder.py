"""A cohort's emails in a course folder (`emails/*.md`), keyed by file name.

Called by mmooc.courses.folder: importing applies the checked email files to a cohort;
exporting writes them back. Emails whose first copy has left are never changed or removed.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from mmooc.emails import scheduling
from mmooc.emails.models import CourseEmail

FIELDS = ["subject", "body", "module", "audience", "trigger", "schedule", "send_at", "day_offset", "local_time"]


def _wanted(cohort: Any, modules: dict[int, Any], data: Any) -> CourseEmail:
    email = CourseEmail(cohort=cohort, key=data.key, subject=data.subject, body=data.body,
                        module=modules.get(data.module) if data.module else None, audience=data.audience,
                        trigger=data.trigger)
    if data.schedule is not None:
        scheduling.apply_schedule(email, data.schedule)
    else:
        email.schedule, email.send_at, email.day_offset, email.local_time = CourseEmail.NOW, None, None, None
    return email


def _differences(email: CourseEmail, wanted: CourseEmail) -> list[str]:
    diff = []
    for name in FIELDS:
        attr = "module_id" if name == "module" else name
        if getattr(email, attr) != getattr(wanted, attr):
            diff.append(name)
    return diff


def apply_emails(cohort: Any, modules: dict[int, Any], emails: list[Any], report: Any, actor: Any) -> None:
    existing = {e.key: e for e in cohort.emails.exclude(key="").select_related("message")}
    for data in emails:
        wanted = _wanted(cohort, modules, data)
        email = existing.pop(data.key, None)
        if email is None:
            wanted.save()
            report.added.append(f"email {data.key}: {data.subject}")
            continue
        diff = _differences(email, wanted)
        if not diff:
            continue
        if scheduling.is_locked(email):
            report.notes.append(f"{data.file}: already sent, so not changed ({', '.join(diff)} differ)")
            continue
        for name in diff:
            attr = "module_id" if name == "module" else name
            setattr(email, attr, getattr(wanted, attr))
        email.updated_at = timezone.now()
        email.save(update_fields=[*diff, "updated_at"])
        report.changed.append(f"email {data.key}: {', '.join(diff)}")
        if email.state == CourseEmail.SCHEDULED and not email.trigger:
            scheduling.replace(email, actor)
    for key, email in existing.items():
        if scheduling.is_locked(email):
            report.notes.append(f"email {key} is no longer in the folder but was already sent: kept")
            continue
        if email.state == CourseEmail.SCHEDULED and email.message_id:
            scheduling.cancel(email, actor)
        report.removed.append(f"email {key}: {email.subject}")
        email.delete()


def email_files(cohort: Any) -> list[tuple[str, dict, str]]:
    """(file name, front matter, body) for each of the cohort's emails."""
    files = []
    for email in cohort.emails.select_related("module").order_by("pk"):
        front: dict[str, Any] = {"subject": email.subject}
        if email.module:
            front["module"] = email.module.position
        front["audience"] = _audience(email.audience)
        if email.trigger:
            front["trigger"] = email.trigger
        else:
            front["schedule"] = scheduling.email_schedule(email).text()
        files.append((f"{email.key or 'email-' + email.public_id.hex[:8]}.md", front, email.body))
    return files


def _audience(audience: dict) -> Any:
    kind = (audience or {}).get("kind", "all")
    if kind == "groups":
        return {"groups": audience["groups"]}
    if kind == "answer":
        return {"question": audience["question"], "answer": audience["answer"]}
    if kind == "test":
        return {"test": audience["addresses"]}
    return kind


def upsert(cohort: Any, data: Any, actor: Any) -> CourseEmail:
    """One email file into the cohort (same key: updated unless already sent); not scheduled."""
    modules = {m.position: m for m in cohort.course.modules.all()}
    wanted = _wanted(cohort, modules, data)
    email = cohort.emails.filter(key=data.key).select_related("message").first()
    if email is None:
        wanted.created_by = actor if getattr(actor, "pk", None) else None
        wanted.save()
        return wanted
    if scheduling.is_locked(email):
        raise scheduling.SchedulingError(f"The email {data.key} was already sent; it can no longer change.")
    diff = _differences(email, wanted)
    for name in diff:
        attr = "module_id" if name == "module" else name
        setattr(email, attr, getattr(wanted, attr))
    if diff:
        email.updated_at = timezone.now()
        email.save(update_fields=[*diff, "updated_at"])
    return email
