from __future__ import annotations

import quopri

import pytest

from mmooc.lib import mailheaders as mh


def test_it_refuses_a_line_break_in_a_value():
    with pytest.raises(mh.HeaderError, match="one line"):
        mh.check_value("Subject", "Hi\r\nBcc: x@example.org")


def test_it_leaves_ascii_alone_and_encodes_non_ascii():
    assert mh.encode_words("Week 1") == "Week 1"
    assert mh.encode_words("Zoë").startswith("=?utf-8?b?")


def test_it_splits_long_encoded_subjects_into_short_words():
    encoded = mh.encode_words("é" * 200)
    assert all(len(word.strip()) <= 75 for word in encoded.split("\r\n"))


def test_it_keeps_a_200_character_url_on_one_line():
    url = "https://course.example.org/u/" + "a" * 171
    line = mh.line("List-Unsubscribe", mh.list_unsubscribe(url, "unsubscribe+x@lists.example.org"))
    assert line == f"List-Unsubscribe: <{url}>, <mailto:unsubscribe+x@lists.example.org>\r\n"


def test_it_folds_an_overlong_list_header_only_at_the_comma():
    url = "https://course.example.org/u/" + "a" * 940
    line = mh.line("List-Unsubscribe", mh.list_unsubscribe(url, "u@example.org"))
    assert line == f"List-Unsubscribe: <{url}>,\r\n <mailto:u@example.org>\r\n"


def test_it_refuses_an_unsubscribe_url_with_a_comma():
    with pytest.raises(mh.HeaderError):
        mh.list_unsubscribe("https://x.example/a,b")


def test_it_checks_list_ids():
    assert mh.list_id("py-3.announce.example.org", "Python 3") in (
        '"Python 3" <py-3.announce.example.org>', "Python 3 <py-3.announce.example.org>")
    with pytest.raises(mh.HeaderError):
        mh.list_id("two words.example.org")


def test_it_encodes_non_ascii_display_names():
    assert mh.address_header("Zoë Team <team@example.org>").startswith("=?utf-8?")


def test_it_refuses_a_from_that_is_not_an_address():
    with pytest.raises(mh.HeaderError):
        mh.address_header("nobody")


def test_an_address_asked_again_gives_the_same_answer_and_a_refused_one_is_refused_again():
    # The answers are kept (a grouping composes 25,000 messages From the same address); a
    # refusal is not, and a value that only differs by a line break is checked as itself.
    for _ in range(3):
        assert mh.address_header("Course Team <team@example.org>") == "Course Team <team@example.org>"
        assert mh.bare_address("Course Team <team@example.org>") == "team@example.org"
        with pytest.raises(mh.HeaderError):
            mh.address_header("nobody")
        with pytest.raises(mh.HeaderError, match="one line"):
            mh.address_header("Course Team <team@example.org>\r\nBcc: x@example.org")


def test_quoted_printable_uses_crlf_and_short_lines():
    data = mh.qp("a" * 300 + "\nline two é\n")
    assert all(len(line) <= 76 for line in data.split(b"\r\n"))
    assert quopri.decodestring(data).decode("utf-8").replace("\r\n", "\n") == "a" * 300 + "\nline two é\n"


def test_the_boundary_cannot_appear_in_quoted_printable_output():
    assert b"=_" not in mh.qp("=_abc =_ " * 50)
