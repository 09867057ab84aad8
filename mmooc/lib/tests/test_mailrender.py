from __future__ import annotations

import pytest

from mmooc.lib.mailrender import escape_html, markdown_to_text, render, template


def test_it_splits_a_template_at_placeholders():
    t = template("Week {{ week }} for {{name}}")
    assert t.parts == ("Week ", "week", " for ", "name", "")
    assert t.fill({"week": "2", "name": "Ann"}) == "Week 2 for Ann"


def test_it_fills_a_missing_value_with_nothing():
    assert template("Hi {{ name }}!").fill({}) == "Hi !"


def test_it_keeps_placeholders_inside_link_urls():
    r = render(subject="s", body="[page]({{ page_url }}) and [x](https://a.example/?t={{ token }})")
    html = r.html.fill({"page_url": "https://p.example/me", "token": "abc"}, escape_html)
    assert 'href="https://p.example/me"' in html and 'href="https://a.example/?t=abc"' in html
    assert "%7B" not in "".join(r.html.parts)


def test_it_escapes_values_in_html_and_not_in_text():
    r = render(subject="s", body="Hi {{ name }}")
    assert "Hi &lt;b&gt;" in r.html.fill({"name": "<b>"}, escape_html)
    assert r.text.fill({"name": "<b>"}).startswith("Hi <b>")


def test_it_writes_links_as_text_then_url_in_the_text_part():
    assert markdown_to_text("See [the book](https://b.example/ch1) and <https://c.example>.") == \
        "See the book (https://b.example/ch1) and https://c.example.\n"


def test_it_adds_the_unsubscribe_link_and_footer_for_subscribed_mail():
    r = render(subject="s", body="x", footer="1 Example Street", unsubscribe=True)
    ctx = {"unsubscribe_url": "https://u.example/1"}
    assert "https://u.example/1" in r.text.fill(ctx) and "1 Example Street" in r.text.fill(ctx)
    assert 'href="https://u.example/1"' in r.html.fill(ctx, escape_html)


def test_it_has_no_unsubscribe_link_in_transactional_mail():
    r = render(subject="s", body="x")
    assert "unsubscribe" not in r.text.fill({}).lower()


def test_it_removes_scripts_and_javascript_links():
    html = render(subject="s", body='<script>x()</script><a href="javascript:alert(1)">a</a>').html.fill({})
    assert "<script" not in html and 'href="javascript' not in html


def test_it_renders_tables():
    html = render(subject="s", body="| a | b |\n|---|---|\n| 1 | 2 |\n").html.fill({})
    assert "<table" in html and "<td" in html


def test_it_inlines_the_layout_css():
    html = render(subject="s", body="[a](https://a.example)").html.fill({})
    assert '<a href="https://a.example" style="color: #1a5fb4;overflow-wrap: anywhere;word-break: break-word;">' in html


@pytest.mark.parametrize(("body", "link"), [
    ("Your page: {{ learner.page_url }}", '>your personal page</a>'),
    ("The forum at https://discuss.example.org/c/python-help/7.", '>discuss.example.org/c/python-help/7</a>.'),
    ("See https://a.example.org/" + "x" * 80, '>a.example.org/' + "x" * 25 + '…</a>'),
])
def test_a_bare_address_becomes_a_link_with_readable_words_in_the_html_part(body, link):
    rendered = render(subject="s", body=body)
    html = rendered.html.fill({"learner.page_url": "https://course.example.org/me/tok"})
    assert link in html
    text = rendered.text.fill({"learner.page_url": "https://course.example.org/me/tok"})
    assert "https://" in text and "](" not in text  # the text part keeps the address itself


def test_addresses_in_code_and_in_links_are_left_as_they_are():
    html = render(subject="s", body="`https://a.example/x` and [b](https://b.example) <https://c.example>").html.fill({})
    assert ">https://a.example/x</code>" in html and "a.example/x</a>" not in html
    assert '>b</a>' in html and '>https://c.example</a>' in html


LONG_URL = "https://forum.example.org/t/week-2-functions-and-the-questions-everyone-asks/12345?page=2"


def test_the_text_part_wraps_prose_without_splitting_addresses():
    body = ("Welcome back! This week we look at functions, the pieces every program is built from, "
            f"and the forum thread {LONG_URL} collects your questions about well-known hard-to-read "
            "examples, so please read it before you write.\n")
    text = render(subject="s", body=body).text.fill({})
    lines = text.splitlines()
    assert max(len(line) for line in lines if LONG_URL not in line) <= 76
    assert any(LONG_URL in line for line in lines)  # whole, never split
    assert "well-known" in text and "hard-to-read" in text  # not broken at hyphens
    assert " ".join(text.split()) == " ".join(body.split())  # nothing lost or added


def test_wrapped_list_items_and_quotes_keep_their_indent_and_code_stays_as_written():
    words = "every word of this sentence is here so that the line is much longer than a phone shows"
    code = "    print('" + "x" * 90 + "')"
    body = f"- {words}\n12. {words}\n> {words}\n\n{code}\n\n```\n{'y' * 90}\n```\n"
    lines = render(subject="s", body=body).text.fill({}).splitlines()
    assert lines[0].startswith("- every") and lines[1].startswith("  ") and not lines[1].startswith("   ")
    numbered = lines.index(next(line for line in lines if line.startswith("12. ")))
    assert lines[numbered + 1].startswith("    ") and lines[numbered + 1][4] != " "
    quoted = [line for line in lines if line.startswith(">")]
    assert len(quoted) == 2 and all(line.startswith("> ") for line in quoted)
    assert code in lines and "y" * 90 in lines


def test_a_placeholder_is_counted_as_wide_as_the_address_it_will_hold():
    body = ("Your personal page is where your group's address and every week's plan are: "
            "open {{ learner.page_url }} whenever you need it.\n")
    url = "https://mmooc.example.org/me/0f8e2a7c-1b2d-4e5f-9a8b-7c6d5e4f3a2b/?t=Zx81k"
    lines = render(subject="s", body=body).text.fill({"learner.page_url": url}).splitlines()
    assert max(len(line) for line in lines if url not in line) <= 76
    assert [line for line in lines if url in line] == [url], lines  # on a line of its own


def test_the_footer_is_wrapped_too():
    r = render(subject="s", body="x", footer="Gentle Python — The Mechanical MOOC team · "
               "organizers@example.org · 1 Long Street Name, Some Town, Some County, Some Country", unsubscribe=True)
    tail = r.text.fill({"unsubscribe_url": LONG_URL}).split("-- \n", 1)[1]
    assert max(len(line) for line in tail.splitlines() if LONG_URL not in line) <= 76
    assert LONG_URL in tail
