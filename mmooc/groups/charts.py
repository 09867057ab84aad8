"""The chart of group spans on the preview page: server-side SVG (pygal), inlined, no scripts."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import pygal
from pygal.style import Style

SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S)
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'
STYLE = Style(background="#ffffff", plot_background="#ffffff", foreground="#1d2330",
              foreground_strong="#1d2330", foreground_subtle="#5b6475", colors=("#2457c5",),
              font_family=FONT, label_font_family=FONT, major_label_font_family=FONT,
              value_font_family=FONT, title_font_family=FONT, transition="0s")


def span_buckets(spans: Sequence[float]) -> tuple[list[str], list[int]]:
    """Groups per whole hour of span: "0 h" counts spans under one hour, and so on."""
    counts = Counter(min(int(math.floor(s)), 23) for s in spans)
    top = max(counts, default=0)
    return [f"{h} h" for h in range(top + 1)], [counts.get(h, 0) for h in range(top + 1)]


def spans_chart(spans: Sequence[float]) -> str:
    labels, values = span_buckets(spans)
    chart = pygal.Bar(title="Groups by time-zone span", height=280, width=800, show_legend=False, js=[],
                      disable_xml_declaration=True, style=STYLE, explicit_size=False, margin=12,
                      no_data_text="No groups", y_title="groups", x_title="span of the group's time zones")
    chart.x_labels = labels
    # Whole numbers of groups on the axis, at most about eight of them.
    top = max(values, default=0)
    step = max(1, math.ceil(top / 8))
    chart.y_labels = list(range(0, top + step, step))
    chart.add("groups", values)
    return SCRIPT.sub("", chart.render(is_unicode=True))
