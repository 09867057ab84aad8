"""The chart of group spans on the preview page."""

from __future__ import annotations

from mmooc.lib.charts import span_buckets, spans_chart


def test_it_counts_groups_per_whole_hour_of_span():
    assert span_buckets([0.0, 0.5, 1.0, 3.75]) == (["0 h", "1 h", "2 h", "3 h"], [2, 1, 0, 1])


def test_it_draws_an_svg_without_scripts():
    svg = spans_chart([0.0, 1.0, 1.5])
    assert svg.startswith("<svg") and "<script" not in svg
    assert "Groups by time-zone span" in svg
