"""Server-side SVG charts (pygal), inlined in pages: they work without JavaScript.

pygal adds a small inline script with its tooltip configuration and, by default, links to
scripts on a CDN; we turn the links off and strip the inline script, so a page never loads
anything from elsewhere and the SVG is plain markup.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from html import escape

import pygal
from pygal.style import Style

SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S)
DEFS = re.compile(r"<defs>.*?</defs>", re.S)
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'
STYLE = Style(
    background="#ffffff", plot_background="#ffffff", foreground="#1d2330", foreground_strong="#1d2330",
    foreground_subtle="#5b6475", opacity=".85", opacity_hover="1", transition="0s",
    colors=("#2457c5", "#1b7f4b", "#a86400", "#b42318", "#6b3fa0", "#0e7490"),
    font_family=FONT, label_font_family=FONT, major_label_font_family=FONT, value_font_family=FONT,
    title_font_family=FONT, legend_font_family=FONT, tooltip_font_family=FONT,
    label_font_size=13, major_label_font_size=13, legend_font_size=13, title_font_size=15,
    no_data_font_size=20,
)
COMMON = {"js": [], "disable_xml_declaration": True, "style": STYLE, "explicit_size": False,
          "print_values": False, "no_data_text": "No data yet", "margin": 12}


def _svg(chart: pygal.graph.graph.Graph) -> str:
    return SCRIPT.sub("", chart.render(is_unicode=True))


def bar(title: str, labels: Sequence[str], series: dict[str, Sequence[float | int]], *,
        width: int = 800, height: int = 320, stacked: bool = False, rotate: int = 0) -> str:
    """A bar chart; several series are drawn side by side (or stacked)."""
    kind = pygal.StackedBar if stacked else pygal.Bar
    chart = kind(title=title, height=height, width=width, show_legend=len(series) > 1,
                 legend_at_bottom=True, x_label_rotation=rotate, show_minor_x_labels=False,
                 truncate_label=12, **COMMON)
    chart.x_labels = list(labels)
    chart.x_labels_major_every = max(1, len(labels) // 12)
    for name, values in series.items():
        chart.add(name, list(values))
    return _svg(chart)


def line(title: str, labels: Sequence[str], series: dict[str, Sequence[float | int]], *,
         width: int = 800, height: int = 320) -> str:
    chart = pygal.Line(title=title, height=height, width=width, show_legend=len(series) > 1,
                       legend_at_bottom=True, x_label_rotation=30, show_minor_x_labels=False,
                       truncate_label=12, dots_size=3, fill=False, **COMMON)
    chart.x_labels = list(labels)
    chart.x_labels_major_every = max(1, len(labels) // 10)
    for name, values in series.items():
        chart.add(name, list(values))
    return _svg(chart)


def sparkline(values: Sequence[int], *, title: str = "", width: int = 120, height: int = 28) -> str:
    """A tiny line without axes, for a table cell (posts per week): one SVG path, drawn here
    rather than by pygal (a page shows a hundred of them; pygal takes tens of milliseconds for
    each). site.css styles them (.pygal-sparkline), and the title says what the line shows."""
    data = [max(0, v) for v in values] or [0]
    top = max(data) or 1
    pad = 2.0
    step = (width - 2 * pad) / max(1, len(data) - 1)
    points = [(pad + i * step, height - pad - (height - 2 * pad) * v / top) for i, v in enumerate(data)]
    if len(points) == 1:
        points.append((width - pad, points[0][1]))
    line = " ".join(f"L{x:.1f},{y:.1f}" for x, y in points)
    base = height - pad
    path = f"M{points[0][0]:.1f},{base:.1f} {line} L{points[-1][0]:.1f},{base:.1f} Z"
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="pygal-sparkline" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img"><title>{escape(title)}</title>'
            f'<path class="line" d="{path}"/></svg>')


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
