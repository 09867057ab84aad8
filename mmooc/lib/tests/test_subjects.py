from __future__ import annotations

from mmooc.lib.subjects import marker, shared_values, shown


def test_it_fills_the_given_values_and_marks_the_others():
    assert shown("Please confirm your place in {{ course_title }}", {"course_title": "Gentle Python"}) == \
        "Please confirm your place in Gentle Python"
    assert shown("Hi {{ learner.first_name }}, week {{module.position}}", {"module.position": 2}) == \
        "Hi ‹first name›, week 2"
    assert shown("Your group {{ group.name }}") == "Your group ‹group name›"


def test_it_marks_a_placeholder_whose_value_is_empty():
    assert shown("{{ course_title }} starts", {"course_title": ""}) == "‹course title› starts"


def test_it_leaves_text_that_is_no_placeholder_as_written():
    assert shown("Broken {{ course.title") == "Broken {{ course.title"
    assert shown("{% if x %}") == "{% if x %}"
    assert shown("Two\n lines") == "Two lines"


def test_the_shared_values_are_the_course_values_only():
    context = {"course_title": "P", "cohort.title": "Spring", "module.position": 3, "greeting": " Ada",
               "confirm_url": "https://x/confirm/secret", "learner.first_name": "Ada", "links": {"a": "b"}}
    assert shared_values(context) == {"course_title": "P", "cohort.title": "Spring", "module.position": "3"}
    assert shared_values(None) == {}


def test_a_marker_reads_as_words():
    assert marker("learner.first_name") == "‹first name›"
    assert marker("unsubscribe_url") == "‹unsubscribe url›"
