from __future__ import annotations

from mmooc.emails.templating import personalize, render, validate


def _messages(text, links=None):
    return [(p.line, p.message) for p in validate(text, links=links)]


def test_it_accepts_the_documented_variables():
    text = ("Hi {{ learner.first_name }} ({{ group.name }}, {{ local.start }})\n"
            "{% for r in module.resources %}- [{{ r.title }}]({{ r.url }}) {{ forloop.counter }}\n{% endfor %}"
            "{{ course.title|upper }} {{ links.forum }} {{ unsubscribe_url }}")
    assert _messages(text, links=["forum"]) == []


def test_it_reports_an_unknown_variable_with_its_line():
    assert _messages("Hello\n\n{{ learner.nickname }}")[0][:1] == (3,)
    assert "unknown variable learner.nickname" in _messages("{{ learner.nickname }}")[0][1]


def test_it_reports_a_syntax_error_with_its_line():
    assert _messages("a\nb\n{% if module.title %}\nc") == [
        (3, "template error: Unclosed tag on line 3: 'if'. Looking for one of: elif, else, endif.")]


def test_it_reports_an_unknown_resource_field():
    assert "r has download, kind" in _messages("{% for r in module.resources %}{{ r.link }}{% endfor %}")[0][1]


def test_it_refuses_filters_and_tags_on_learner_values():
    assert _messages("{{ learner.name|upper }}")[0][1].startswith("learner.name is filled in for each learner")
    assert _messages("{% if group.name %}x{% endif %}")[0][1].startswith("group.name is filled in")


def test_it_reports_a_link_the_course_does_not_have():
    assert "add it under links:" in _messages("{{ links.chat }}", links=["forum"])[0][1]


def test_it_renders_shared_values_and_leaves_learner_placeholders():
    out = render("Hi {{ learner.first_name }}, <{{ course.title }}>", {"course": {"title": "A & B"}})
    assert out == "Hi {{ learner.first_name }}, <A & B>"


def test_it_personalizes_placeholders():
    assert personalize("Hi {{ learner.first_name }}!", {"learner.first_name": "Ada"}) == "Hi Ada!"


def test_module_titles_are_not_repeated_in_the_demo_course_emails(db):
    """"Welcome to week 2: Week 2: Functions" no more: module.title drops a "Week 2:" that repeats
    the number the email already writes; module.full_title keeps it."""
    from pathlib import Path

    from mmooc.courses.models import Course
    from mmooc.emails import scheduling
    from mmooc.emails.models import CourseEmail
    from mmooc.testing import import_course_folder, make_cohort

    import_course_folder(Path(__file__).resolve().parents[2] / "site" / "demo" / "gentle-python")
    cohort = make_cohort(Course.objects.get(slug="gentle-python"))
    import_course_folder(Path(__file__).resolve().parents[2] / "site" / "demo" / "gentle-python", cohort)
    emails = list(CourseEmail.objects.filter(cohort=cohort, module__isnull=False))
    assert len(emails) == 7
    for email in emails:
        subject, body = scheduling.render_email(email)
        text = f"{subject}\n{body}".lower().replace("*", "")
        n = email.module.position
        assert f"week {n}: week {n}" not in text and f"this week: week {n}" not in text, subject
    week2 = next(e for e in emails if e.module.position == 2)
    assert "Welcome to week 2: **Functions**" in scheduling.render_email(week2)[1]
    assert scheduling.message_context(week2)["module"]["full_title"] == "Week 2: Functions"
