"""The chart of group spans on the preview page."""

from __future__ import annotations

from mmooc.lib import charts
from mmooc.lib.charts import span_buckets, spans_chart


def test_it_counts_groups_per_whole_hour_of_span():
    assert span_buckets([0.0, 0.5, 1.0, 3.75]) == (["0 h", "1 h", "2 h", "3 h"], [2, 1, 0, 1])


def test_it_draws_an_svg_without_scripts():
    svg = spans_chart([0.0, 1.0, 1.5])
    assert svg.startswith("<svg") and "<script" not in svg
    assert "Groups by time-zone span" in svg


def test_a_sparkline_is_one_path_scaled_to_its_box_with_its_title():
    svg = charts.sparkline([0, 4, 2], title="Posts <per> week", width=100, height=20)
    assert svg.startswith("<svg") and svg.count("<path") == 1 and "<script" not in svg
    assert 'class="pygal-sparkline"' in svg and 'viewBox="0 0 100 20"' in svg
    assert "<title>Posts &lt;per&gt; week</title>" in svg
    # From the baseline, through 0 (bottom), 4 (top) and 2 (middle), back to the baseline.
    assert "M2.0,18.0 L2.0,18.0 L50.0,2.0 L98.0,10.0 L98.0,18.0 Z" in svg


def test_a_sparkline_of_one_value_or_none_is_a_flat_line_across():
    assert "L2.0,18.0 L98.0,18.0" in charts.sparkline([], width=100, height=20)
    assert "L2.0,2.0 L98.0,2.0" in charts.sparkline([3], width=100, height=20)
