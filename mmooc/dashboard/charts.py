"""Server-side SVG charts (pygal), inlined in pages: they work without JavaScript.

pygal adds a small inline script with its tooltip configuration and, by default, links to
scripts on a CDN; we turn the links off and strip the inline script, so a page never loads
anything from elsewhere and the SVG is plain markup.
"""

from __future__ import annotations

import re
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
    """A tiny line without axes, for a table cell (posts per week)."""
    chart = pygal.Line(width=width, height=height, show_dots=True, dots_size=1.5, fill=True,
                       **{**COMMON, "explicit_size": True})
    chart.add("", list(values) or [0])
    svg = SCRIPT.sub("", chart.render_sparkline(is_unicode=True, width=width, height=height))
    # pygal's stylesheet is 8 kB per chart; a page shows a hundred sparklines, so site.css styles
    # them instead (.pygal-sparkline), and the title says what the line shows.
    svg = DEFS.sub("", svg, count=1)
    return svg.replace("<title>Pygal</title>", f"<title>{escape(title)}</title>", 1)
