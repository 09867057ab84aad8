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
