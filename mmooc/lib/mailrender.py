"""Markdown to a mail's HTML and text parts, rendered once and filled in per recipient.

`render()` turns a Markdown body (with `{{ name }}` placeholders) into three `Template`s:
subject, text and HTML. Each is the final text split at its placeholders, so a copy for
one recipient is a join of strings: no Markdown, sanitizer or CSS inliner runs per copy.

Placeholders are swapped for plain letter-and-digit markers before Markdown sees them:
Markdown would otherwise refuse `[link]({{ url }})` (a space in a URL) or percent-encode
the braces, and the markers survive the sanitizer and the CSS inliner untouched.
"""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from django.utils import translation
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

# Markdown, its sanitizer and the CSS inliner are imported when a message is first rendered:
# a process that only relays posts (`mmooc lmtp`, a worker sending them) never loads them
# (about 5 MB of each process's memory).

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")
MARKER = re.compile(r"MMOOCVAR(\d+)X")
UNSUBSCRIBE_VAR = "unsubscribe_url"

# Tags a mail client shows well; everything else is removed by the sanitizer.
ALLOWED_TAGS = {
    "a", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "img", "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead", "tr",
    "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
                      "td": {"align"}, "th": {"align"}, "ol": {"start"}}

LAYOUT = """<!DOCTYPE html>
<html lang="{lang}" dir="{dir}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ margin: 0; padding: 0; background: #f4f4f2; }}
.wrap {{ max-width: 600px; margin: 0 auto; padding: 16px 8px; font-family: Georgia, 'Times New Roman',
  serif; font-size: 17px; line-height: 1.5; color: #1f1f1f; }}
.content {{ background: #ffffff; padding: 20px 16px; border-radius: 6px; }}
a {{ color: #1a5fb4; overflow-wrap: anywhere; word-break: break-word; }}
p, li, td, th, blockquote {{ overflow-wrap: anywhere; word-break: break-word; }}
img {{ max-width: 100%; height: auto; }}
ul, ol {{ padding-left: 22px; }}
h1, h2, h3 {{ font-family: Helvetica, Arial, sans-serif; line-height: 1.25; }}
pre, code {{ font-family: Menlo, Consolas, monospace; font-size: 14px; background: #f0f0ee; }}
pre {{ padding: 12px; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere; }}
table {{ border-collapse: collapse; max-width: 100%; }}
th, td {{ border: 1px solid #d0d0cc; padding: 4px 8px; }}
blockquote {{ margin: 0; padding-left: 12px; border-left: 3px solid #d0d0cc; color: #555555; }}
.footer {{ padding: 16px 24px; font-family: Helvetica, Arial, sans-serif; font-size: 13px;
  color: #666666; }}
.footer a {{ color: #666666; }}
</style></head>
<body><div class="wrap"><div class="content">
{body}
</div><div class="footer">
{footer}
</div></div></body></html>
"""


@dataclass(frozen=True)
class Template:
    """A text split at its placeholders: literal, name, literal, name, …, literal."""

    parts: tuple[str, ...]

    @property
    def names(self) -> set[str]:
        return set(self.parts[1::2])

    def fill(self, context: Mapping[str, str], escape: Callable[[str], str] | None = None) -> str:
        parts = self.parts
        if len(parts) == 1:
            return parts[0]
        out = list(parts)
        for i in range(1, len(parts), 2):
            value = str(context.get(parts[i], ""))
            out[i] = escape(value) if escape else value
        return "".join(out)


@dataclass(frozen=True)
class Rendered:
    subject: Template
    text: Template
    html: Template


def escape_html(value: str) -> str:
    return html.escape(value, quote=True)


def template(text: str) -> Template:
    """Split a text with `{{ name }}` placeholders (no markers) into a Template."""
    pieces = PLACEHOLDER.split(text)
    return Template(tuple(pieces))


def _to_markers(text: str, names: list[str]) -> str:
    def swap(m: re.Match[str]) -> str:
        if m.group(1) not in names:
            names.append(m.group(1))
        return f"MMOOCVAR{names.index(m.group(1))}X"

    return PLACEHOLDER.sub(swap, text)


def _from_markers(text: str, names: list[str]) -> Template:
    pieces = MARKER.split(text)
    for i in range(1, len(pieces), 2):
        pieces[i] = names[int(pieces[i])]
    return Template(tuple(pieces))


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt

    # commonmark + tables; linkify stays off so addresses and URLs in text are not guessed at.
    return MarkdownIt("commonmark").enable("table")


def markdown_to_html(source: str) -> str:
    """Markdown to sanitized HTML (a fragment, no layout)."""
    import nh3

    raw = _markdown().render(source)
    return nh3.clean(raw, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"}, link_rel=None)


_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*([^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
_LINK = re.compile(r"\[([^\]]+)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")


def _link_text(m: re.Match[str]) -> str:
    text, url = m.group(1), m.group(2)
    return url if text.strip() == url else f"{text} ({url})"


def markdown_to_text(source: str) -> str:
    """The plain-text part: the Markdown source made plain, links as `text (url)`."""
    text = source.replace("\r\n", "\n")
    text = _IMAGE.sub(lambda m: f"[{m.group(1) or 'image'}] ({m.group(2)})", text)
    text = _LINK.sub(_link_text, text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _EMPHASIS.sub(r"\2", text)
    return text.strip() + "\n"


# The text part's lines: prose is wrapped at this width, an address is never split.
WRAP_WIDTH = 76
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_QUOTE = re.compile(r"^((?: {0,3}>[ ]?)+)")
_LIST_ITEM = re.compile(r"^( {0,3}(?:[-*+]|\d{1,9}[.)]) +)")
_FILLER = "\x00"


def wrap_text(text: str, width: int = WRAP_WIDTH) -> str:
    """The text part with each long line of prose wrapped at `width`: words (an address is one
    word) are never split, nor broken at hyphens; a list item's or quote's following lines
    keep its indent or `>`; code (fenced or indented) and table rows stay as written. Lines
    are never joined, so the author's line breaks stay where they are."""
    out: list[str] = []
    fenced = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
            out.append(line)
        elif fenced or len(line) <= width or line.startswith(("    ", "\t")) or line.lstrip().startswith("|"):
            out.append(line)
        else:
            out.extend(_wrap_line(line, width))
    return "\n".join(out)


def _wrap_line(line: str, width: int) -> list[str]:
    first = rest = ""
    quote = _QUOTE.match(line)
    if quote:
        first = rest = quote.group(1)
        line = line[len(first):]
    item = _LIST_ITEM.match(line)
    lead = item.group(1) if item else line[: len(line) - len(line.lstrip(" "))]
    first, rest, line = first + lead, rest + " " * len(lead), line[len(lead):]
    return textwrap.wrap(line, width, initial_indent=first, subsequent_indent=rest, break_long_words=False,
                         break_on_hyphens=False) or [first.rstrip()]


def _width_of(name: str) -> int:
    """How wide a placeholder's value is taken to be when the text around it is wrapped
    (it is filled in later, for each copy): an address is long, a name short."""
    if name.endswith("url"):
        return 72  # a line of its own
    if name.endswith("address") or name.endswith(".note"):
        return 36
    return 16 if name.endswith("name") else 12


def _wrap_with_markers(text: str, names: list[str]) -> str:
    """Wrap a text holding placeholder markers, each counted as wide as its value will be."""
    def pad(m: re.Match[str]) -> str:
        return m.group(0) + _FILLER * max(0, _width_of(names[int(m.group(1))]) - len(m.group(0)))

    return wrap_text(MARKER.sub(pad, text)).replace(_FILLER, "")


def footer_markdown(footer: str, unsubscribe: bool) -> str:
    lines = []
    if unsubscribe:
        link = f"[{_('unsubscribe')}]({{{{ {UNSUBSCRIBE_VAR} }}}})"
        lines.append(_("To stop receiving these emails, unsubscribe: %(link)s") % {"link": link})
    if footer.strip():
        lines.append(footer.strip())
    return "\n\n".join(lines)


def footer_text(footer: str, unsubscribe: bool) -> str:
    lines = []
    if unsubscribe:
        lines.append(_("To stop receiving these emails, unsubscribe: %(link)s")
                     % {"link": f"{{{{ {UNSUBSCRIBE_VAR} }}}}"})
    if footer.strip():
        lines.append(markdown_to_text(footer).strip())
    return "\n\n".join(lines)


# What a link stands for when a message prints one of these addresses bare.
LINK_LABELS = {"learner.page_url": "your personal page", "calendar_url": "the course calendar",
               "archive_url": "the course archive", "email.url": "this email on the web",
               "course.url": "the course page", "unsubscribe_url": "unsubscribe", "page_url": "your personal page",
               "archive": "the group's archive"}
_BARE_PLACEHOLDER = re.compile(r"(?<!\]\()(?<!<)(?<!\[)\{\{\s*([A-Za-z0-9_.]*url)\s*\}\}")
_BARE_URL = re.compile(r"(?<!\]\()(?<!<)(?<!\[)(?<![\w/=\"'])(https?://[^\s<>()\[\]\"']+)")
_CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.DOTALL)
_URL_END = ".,;:!?'"


def url_label(url: str, limit: int = 40) -> str:
    """Readable text for a link to `url`: its host and path, shortened."""
    shown = re.sub(r"^https?://(www\.)?", "", url).rstrip("/")
    return shown if len(shown) <= limit else shown[: limit - 1].rstrip("/.-_") + "…"


def _bare_url(m: re.Match[str]) -> str:
    url = m.group(1)
    tail = ""
    while url and url[-1] in _URL_END:
        url, tail = url[:-1], url[-1] + tail
    return f"[{url_label(url)}]({url}){tail}"


def link_bare_urls(markdown: str) -> str:
    """Markdown with each bare address (a URL, or a placeholder that holds one) made a link
    with readable text, outside code: a mail client shows the text, not a long address."""
    pieces = _CODE.split(markdown)
    for i in range(0, len(pieces), 2):
        piece = _BARE_PLACEHOLDER.sub(
            lambda m: f"[{LINK_LABELS.get(m.group(1), 'this link')}]({{{{ {m.group(1)} }}}})", pieces[i])
        pieces[i] = _BARE_URL.sub(_bare_url, piece)
    return "".join(pieces)


def render(*, subject: str, body: str, footer: str = "", unsubscribe: bool = False) -> Rendered:
    """Render once: the templates every copy of this message is filled from."""
    names: list[str] = []
    body_m = _to_markers(body, names)
    html_body = _to_markers(link_bare_urls(body), names)
    html_footer = _to_markers(link_bare_urls(footer_markdown(footer, unsubscribe)), names)
    title = escape_html(_to_markers(subject, names))
    direction = "rtl" if translation.get_language_bidi() else "ltr"
    page = LAYOUT.format(title=title, body=markdown_to_html(html_body), footer=markdown_to_html(html_footer),
                         lang=translation.get_language() or "en", dir=direction)
    import css_inline

    inlined = css_inline.inline(page)
    text = _wrap_with_markers(markdown_to_text(body_m), names)
    tail = _wrap_with_markers(_to_markers(footer_text(footer, unsubscribe), names), names)
    if tail:
        text = f"{text}\n-- \n{tail}\n"
    return Rendered(subject=template(subject), text=_from_markers(text, names),
                    html=_from_markers(inlined, names))
