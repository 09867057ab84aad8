"""The grouping algorithm, tested as a pure function (no database)."""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmooc.groups.grouping import (
    DAY,
    Candidate,
    GroupingError,
    GroupSettings,
    Pool,
    circular_span,
    format_offset,
    make_groups,
    plan_groups,
    summarize,
    utc_offsets,
)

START = date(2027, 3, 1)
# Zones with whole, half and quarter hour offsets, both sides of the date line.
ZONES = ["UTC", "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles",
         "America/St_Johns", "Asia/Kolkata", "Asia/Kathmandu", "Asia/Tokyo", "Australia/Adelaide",
         "Pacific/Apia", "Pacific/Pago_Pago", "Pacific/Kiritimati", "Pacific/Honolulu",
         "America/Sao_Paulo", "Africa/Lagos", "Pacific/Auckland"] + [f"Etc/GMT{k:+d}" for k in range(-12, 12, 3)]
LANGS = ["en", "es", "fr", "pt"]


def candidates(zones: list[str], langs: list[str] | None = None) -> list[Candidate]:
    langs = langs or ["en"] * len(zones)
    return [Candidate(i + 1, z, lang) for i, (z, lang) in enumerate(zip(zones, langs, strict=True))]


learner_lists = st.lists(st.tuples(st.sampled_from(ZONES), st.sampled_from(LANGS)), min_size=1, max_size=120)
sizes = st.integers(min_value=2, max_value=15)


def arc(points: list[float], k: int) -> float:
    """How far a run reaches going east from its first member to its last."""
    if k == 1:
        return circular_span(points)
    return round((points[-1] - points[0]) % DAY, 6)


def group_points(group, offsets: dict[str, float], by_id: dict[int, Candidate]) -> list[float]:
    return [offsets[by_id[i].timezone] % DAY for i in group.member_ids]


def widest(groups, learners, k):
    offsets = utc_offsets({c.timezone for c in learners}, START)
    by_id = {c.id: c for c in learners}
    return max(arc(group_points(g, offsets, by_id), k) for g in groups)


def brute_force(points: list[float], k: int) -> float:
    """Every start and every way to give the extra members to runs: the narrowest widest run."""
    n = len(points)
    ext = sorted(points) + [p + DAY for p in sorted(points)]
    q, r = divmod(n, k)
    best = math.inf
    for start in range(n):
        for big in itertools.combinations(range(k), r):
            p, worst = start, 0.0
            for j in range(k):
                size = q + (j in big)
                worst = max(worst, ext[p + size - 1] - ext[p]) if k > 1 else circular_span(points)
                p += size
            best = min(best, worst)
    return round(best, 6)


@given(learner_lists, sizes, st.integers(0, 3))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_it_puts_every_learner_in_exactly_one_group_or_says_why_not(rows, size, seed):
    learners = candidates([z for z, _ in rows], [lang for _, lang in rows])
    plan = plan_groups(learners, GroupSettings(size, start_date=START), seed=seed)
    placed = [i for g in plan.groups for i in g.member_ids]
    assert sorted(placed + [u.id for u in plan.unplaced]) == [c.id for c in learners]
    assert all(u.reason for u in plan.unplaced)


@given(learner_lists, sizes)
@settings(max_examples=150, deadline=None)
def test_it_keeps_sizes_within_bounds_and_balanced(rows, size):
    learners = candidates([z for z, _ in rows], [lang for _, lang in rows])
    config = GroupSettings(size, start_date=START)
    groups = make_groups(learners, config)
    assert all(g.size <= max(config.largest, 2 * config.floor - 1) for g in groups)
    if len(learners) >= config.keeps_language:
        assert all(g.size >= config.keeps_language for g in groups)
    by_set = Counter()
    for label in {g.language for g in groups}:
        same = [g.size for g in groups if g.language == label]
        assert max(same) - min(same) <= 1
        by_set[label] = sum(same)
        assert len(same) == max(1, min(math.ceil(sum(same) / config.largest), sum(same) // config.floor))


@given(learner_lists, sizes)
@settings(max_examples=150, deadline=None)
def test_it_keeps_languages_together_where_they_fill_groups(rows, size):
    learners = candidates([z for z, _ in rows], [lang for _, lang in rows])
    config = GroupSettings(size, start_date=START)
    groups = make_groups(learners, config)
    counts = Counter(c.language for c in learners)
    big = sorted((lang for lang, n in counts.items() if n >= config.keeps_language), key=lambda x: (-counts[x], x))
    rest = sum(n for lang, n in counts.items() if lang not in big)
    expected_kept = big[:-1] if 0 < rest < config.keeps_language and big else big
    for g in groups:
        assert g.pooled == (g.language == "")
        if not g.pooled:
            assert g.languages == (g.language,)
    assert sorted({g.language for g in groups if not g.pooled}) == sorted(expected_kept)


@given(st.lists(st.sampled_from(ZONES), min_size=1, max_size=12), st.integers(2, 6))
@settings(max_examples=200, deadline=None)
def test_it_finds_the_narrowest_widest_group_found_by_brute_force(zones, size):
    learners = candidates(zones)
    groups = make_groups(learners, GroupSettings(size, min_size=1, start_date=START, min_group=1))
    offsets = utc_offsets(set(zones), START)
    k = math.ceil(len(zones) / size)
    assert widest(groups, learners, k) == brute_force([offsets[z] % DAY for z in zones], k)


@given(st.lists(st.sampled_from(["Asia/Tokyo", "Pacific/Apia", "Pacific/Kiritimati", "America/New_York"]),
                min_size=1, max_size=14), st.integers(2, 5))
@settings(max_examples=200, deadline=None)
def test_it_finds_the_brute_force_optimum_when_many_learners_share_a_time_zone(zones, size):
    learners = candidates(zones)
    groups = make_groups(learners, GroupSettings(size, min_size=1, start_date=START, min_group=1))
    offsets = utc_offsets(set(zones), START)
    k = math.ceil(len(zones) / size)
    assert widest(groups, learners, k) == brute_force([offsets[z] % DAY for z in zones], k)


@given(st.lists(st.sampled_from(ZONES), min_size=2, max_size=200), st.integers(2, 40))
@settings(max_examples=150, deadline=None)
def test_it_is_never_wider_than_the_naive_split_of_a_sorted_list(zones, size):
    learners = candidates(zones)
    groups = make_groups(learners, GroupSettings(size, min_size=1, start_date=START, min_group=1))
    offsets = utc_offsets(set(zones), START)
    linear = sorted(offsets[z] for z in zones)
    k = math.ceil(len(zones) / size)
    q, r = divmod(len(zones), k)
    naive, p = 0.0, 0
    for j in range(k):
        run = linear[p:p + q + (j < r)]
        naive = max(naive, run[-1] - run[0])
        p += len(run)
    assert max(g.span_hours for g in groups) <= naive + 1e-9


@given(learner_lists, sizes, st.integers(0, 1000), st.randoms())
@settings(max_examples=100, deadline=None)
def test_it_gives_the_same_groups_for_the_same_seed_whatever_the_input_order(rows, size, seed, rnd):
    learners = candidates([z for z, _ in rows], [lang for _, lang in rows])
    shuffled = learners[:]
    rnd.shuffle(shuffled)
    config = GroupSettings(size, start_date=START)
    assert make_groups(learners, config, seed=seed) == make_groups(shuffled, config, seed=seed)


def test_it_uses_the_seed_to_break_ties_between_learners_sharing_an_offset():
    learners = candidates(["Europe/Paris"] * 40)
    config = GroupSettings(10, start_date=START)
    first = [g.member_ids for g in make_groups(learners, config, seed=1)]
    assert first == [g.member_ids for g in make_groups(learners, config, seed=1)]
    assert first != [g.member_ids for g in make_groups(learners, config, seed=2)]


def test_it_treats_offsets_as_a_circle_across_the_date_line():
    # Kiribati's Line Islands (UTC+14) and American Samoa (UTC-11) are an hour apart on the clock.
    learners = candidates(["Pacific/Kiritimati"] * 4 + ["Pacific/Pago_Pago"] * 4 + ["Europe/Paris"] * 8)
    groups = make_groups(learners, GroupSettings(8, start_date=START))
    pacific = next(g for g in groups if 1 in g.member_ids)
    assert set(pacific.member_ids) == set(range(1, 9))
    assert pacific.span_hours == 1.0
    assert {pacific.first_offset, pacific.last_offset} == {14.0, -11.0}


def test_it_puts_utc_plus_13_next_to_utc_minus_11():
    learners = candidates(["Pacific/Apia"] * 3 + ["Pacific/Pago_Pago"] * 3 + ["Asia/Dubai"] * 6)
    groups = make_groups(learners, GroupSettings(6, start_date=START))
    pacific = next(g for g in groups if 1 in g.member_ids)
    assert set(pacific.member_ids) == set(range(1, 7))
    assert pacific.span_hours < 2


def test_it_takes_offsets_on_the_start_date_with_daylight_saving_time():
    # Phoenix keeps UTC-7 all year; Denver is at UTC-7 in winter and UTC-6 in summer.
    learners = candidates(["America/Phoenix"] * 4 + ["America/Denver"] * 4)
    winter, = make_groups(learners, GroupSettings(8, start_date=date(2027, 1, 15)))
    summer, = make_groups(learners, GroupSettings(8, start_date=date(2027, 7, 15)))
    assert (winter.span_hours, summer.span_hours) == (0.0, 1.0)
    assert {summer.first_offset, summer.last_offset} == {-7.0, -6.0}


def test_it_pools_languages_too_small_for_their_own_groups_and_says_so():
    zones = ["Europe/Paris"] * 30
    langs = ["en"] * 20 + ["fr"] * 6 + ["de"] * 4
    groups = make_groups(candidates(zones, langs), GroupSettings(10, start_date=START))
    pooled = [g for g in groups if g.pooled]
    assert [g.languages for g in pooled] == [("de", "fr")]
    assert all(g.language == "en" for g in groups if not g.pooled)


def test_it_makes_the_fewest_groups_the_maximum_allows():
    groups = make_groups(candidates(["UTC"] * 81), GroupSettings(40, start_date=START))
    assert [g.size for g in groups] == [27, 27, 27]


def test_it_returns_no_groups_for_no_learners():
    assert make_groups([], GroupSettings(40, start_date=START)) == []


@pytest.mark.parametrize("config", [GroupSettings(1), GroupSettings(10, min_size=6), GroupSettings(10, min_size=0)])
def test_it_refuses_settings_that_cannot_give_groups(config):
    with pytest.raises(GroupingError):
        make_groups(candidates(["UTC"] * 5), config)


def test_it_counts_an_unknown_time_zone_as_utc():
    assert utc_offsets({"Mars/Olympus_Mons"}, START) == {"Mars/Olympus_Mons": 0.0}


def test_it_measures_a_span_on_the_circle():
    assert circular_span([13.0 % DAY, -11.0 % DAY]) == 0.0
    assert circular_span([23.0, 1.0]) == 2.0
    assert circular_span([5.0]) == 0.0


def test_it_groups_a_hundred_thousand_learners():
    rng = random.Random(3)
    learners = [Candidate(i, rng.choice(ZONES), rng.choice(LANGS)) for i in range(100_000)]
    groups = make_groups(learners, GroupSettings(40, start_date=START))
    assert sum(g.size for g in groups) == 100_000


def test_it_summarizes_a_proposal():
    zones = ["Europe/Paris"] * 6 + ["Asia/Tokyo"] * 3
    config = GroupSettings(4, start_date=START, min_group=1)
    summary = summarize(make_groups(candidates(zones, ["en"] * 6 + ["ja"] * 3), config))
    assert (summary.groups, summary.learners, summary.smallest, summary.largest) == (3, 9, 3, 3)
    assert summary.languages == ("en", "ja") and summary.pooled == 0
    assert summary.widest_span == 0.0


def test_it_writes_offsets_as_organizers_read_them():
    assert [format_offset(h) for h in (5.5, -3.0, 0.0, 5.75, -9.5)] == [
        "UTC+5:30", "UTC−3", "UTC+0", "UTC+5:45", "UTC−9:30"]


def test_a_pool_too_small_for_a_group_joins_the_smallest_language_whose_groups_become_pooled():
    zones = ["Europe/Paris"] * 33
    langs = ["en"] * 20 + ["fr"] * 10 + ["de"] * 3  # 3 German speakers: fewer than the minimum of 5
    groups = make_groups(candidates(zones, langs), GroupSettings(10, start_date=START))
    assert sorted((g.language, g.pooled, g.languages) for g in groups) == [
        ("", True, ("de", "fr")), ("", True, ("de", "fr")), ("en", False, ("en",)), ("en", False, ("en",))]
    assert sorted(g.size for g in groups if g.pooled) == [6, 7]


def test_a_language_with_exactly_the_minimum_keeps_its_own_group():
    zones = ["Europe/Paris"] * 25
    langs = ["en"] * 20 + ["fr"] * 5
    groups = make_groups(candidates(zones, langs), GroupSettings(10, start_date=START))
    assert sorted((g.language, g.size) for g in groups) == [("en", 10), ("en", 10), ("fr", 5)]
    assert not any(g.pooled for g in groups)


def test_a_pool_of_exactly_the_minimum_makes_a_group_of_its_own():
    zones = ["Europe/Paris"] * 25
    langs = ["en"] * 20 + ["de"] * 3 + ["it"] * 2
    groups = make_groups(candidates(zones, langs), GroupSettings(10, start_date=START))
    assert sorted((g.language, g.size, g.languages) for g in groups) == [
        ("", 5, ("de", "it")), ("en", 10, ("en",)), ("en", 10, ("en",))]


def test_it_finds_the_narrowest_split_of_three_learners_far_apart():
    zones = ["UTC", "Pacific/Apia", "Asia/Kolkata"]  # UTC+0, UTC+13, UTC+5:30
    learners = candidates(zones)
    groups = make_groups(learners, GroupSettings(2, min_size=1, start_date=START, min_group=1))
    offsets = utc_offsets(set(zones), START)
    assert sorted(g.size for g in groups) == [1, 2]
    assert widest(groups, learners, 2) == brute_force([offsets[z] % DAY for z in zones], 2) == 5.5


def test_a_pair_at_utc_plus_13_joins_the_nearest_group_rather_than_making_its_own():
    learners = candidates(["Europe/Paris"] * 6 + ["Pacific/Apia"] * 2)  # groups of at most 3
    groups = make_groups(learners, GroupSettings(3, start_date=START))
    assert sorted(g.size for g in groups) == [4, 4]
    assert all(g.size >= 3 for g in groups)  # the minimum of 5, held at the maximum of 3


def test_the_minimum_group_size_is_five_unless_configured():
    learners = candidates(["Europe/Paris"] * 9)
    assert GroupSettings(10).floor == 5
    assert [g.size for g in make_groups(learners, GroupSettings(5, start_date=START))] == [9]
    assert sorted(g.size for g in make_groups(learners, GroupSettings(5, start_date=START, min_group=2))) == [4, 5]


def test_learners_fewer_than_the_minimum_form_no_group_and_are_listed_with_the_reason():
    plan = plan_groups(candidates(["UTC", "Asia/Tokyo"]), GroupSettings(10, start_date=START))
    assert plan.groups == []
    assert [(u.id, u.timezone) for u in plan.unplaced] == [(1, "UTC"), (2, "Asia/Tokyo")]
    assert plan.unplaced[0].reason.startswith("Only 2 learners wait for a group, fewer than the minimum "
                                              "group size of 5")


def test_a_group_of_two_at_utc_plus_13_joins_the_utc_plus_12_group():
    # Tonga is UTC+13; Fiji (UTC+12) is its nearest neighbour on the clock, Tokyo (UTC+9) is further.
    zones = ["Pacific/Fiji"] * 5 + ["Asia/Tokyo"] * 7 + ["Pacific/Tongatapu"] * 2
    learners = candidates(zones)
    plan = plan_groups(learners, GroupSettings(7, start_date=START))
    assert plan.unplaced == ()
    by_id = {c.id: c.timezone for c in learners}
    members = [sorted({by_id[i] for i in g.member_ids}) for g in plan.groups]
    assert sorted(members) == [["Asia/Tokyo"], ["Pacific/Fiji", "Pacific/Tongatapu"]]
    fiji = next(g for g in plan.groups if "Pacific/Fiji" in {by_id[i] for i in g.member_ids})
    assert fiji.size == 7 and fiji.offsets_label == "UTC+12 to UTC+13"
    assert fiji.zones == (("Pacific/Fiji", 5), ("Pacific/Tongatapu", 2))
    assert fiji.zones_label == "Pacific/Fiji (5), Pacific/Tongatapu (2)"


def test_a_small_language_joins_the_pool_of_its_nearest_neighbours_rather_than_its_own_small_group():
    learners = candidates(["Europe/Paris"] * 6 + ["Europe/Madrid"] * 2, ["fr"] * 6 + ["es"] * 2)
    plan = plan_groups(learners, GroupSettings(10, start_date=START))
    assert [(g.size, g.pooled, g.languages) for g in plan.groups] == [(8, True, ("es", "fr"))]
    assert plan.unplaced == ()


@pytest.mark.parametrize("minimum", [2, 3, 4, 5, 7])
def test_the_minimum_is_respected_and_nobody_is_lost(minimum):
    rnd = random.Random(minimum)
    learners = candidates(rnd.choices(ZONES, k=53), rnd.choices(LANGS, k=53))
    plan = plan_groups(learners, GroupSettings(8, start_date=START, min_group=minimum))
    assert all(g.size >= minimum for g in plan.groups)
    assert sorted([i for g in plan.groups for i in g.member_ids] + [u.id for u in plan.unplaced]) == \
        [c.id for c in learners]


def test_a_group_describes_its_time_zones_most_members_first_and_counts_the_rest():
    learners = candidates(["Europe/Paris"] * 3 + ["Europe/Berlin", "Europe/Rome", "Europe/Oslo", "Europe/Vienna",
                                                  "Europe/Madrid"])
    (group,) = make_groups(learners, GroupSettings(10, start_date=START))
    assert group.zones_label == ("Europe/Paris (3), Europe/Berlin (1), Europe/Madrid (1), Europe/Oslo (1) "
                                 "and 2 more")


def test_it_refuses_a_minimum_group_size_under_one():
    with pytest.raises(GroupingError):
        make_groups(candidates(["UTC"] * 5), GroupSettings(10, min_group=0))


@given(learner_lists, sizes, st.integers(1, 12), st.integers(0, 3))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_no_group_is_smaller_than_the_minimum(rows, size, minimum, seed):
    learners = candidates([z for z, _ in rows], [lang for _, lang in rows])
    config = GroupSettings(size, start_date=START, min_group=minimum)
    groups = make_groups(learners, config, seed=seed)
    if len(learners) >= min(minimum, config.largest):
        assert sorted(i for g in groups for i in g.member_ids) == [c.id for c in learners]
    floor = min(minimum, config.largest)
    if len(learners) >= floor:
        assert all(g.size >= floor for g in groups)
    else:
        assert groups == []
    # Fewer, larger groups only where the maximum would have left one under the minimum.
    for label in {g.language for g in groups}:
        same = [g.size for g in groups if g.language == label]
        if max(same) > config.largest:
            n = sum(same)
            assert n - (math.ceil(n / config.largest) - 1) * config.largest < floor or \
                n // math.ceil(n / config.largest) < floor


@given(st.lists(st.sampled_from(ZONES), min_size=1, max_size=80), st.integers(0, 3), st.randoms(use_true_random=False))
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
def test_its_groups_are_runs_of_the_circle_in_seeded_order(zones, seed, rnd):
    """Learners by id, shuffled by the seed, then stably by offset: each group is a run of that
    circle, whether the learners come as Candidates or as a pool, in any order of ids."""
    ids = list(range(1, len(zones) + 1))
    rnd.shuffle(ids)
    learners = [Candidate(i, zone) for i, zone in zip(ids, zones, strict=True)]
    offsets = utc_offsets(set(zones), START)
    circle = sorted(learners, key=lambda c: c.id)
    random.Random(seed).shuffle(circle)
    circle.sort(key=lambda c: offsets[c.timezone] % DAY)
    order = [c.id for c in circle]
    config = GroupSettings(4, start_date=START, min_group=1)
    for given_as in (learners, Pool.of(learners), Pool.of((c.id, c.timezone, c.language) for c in learners)):
        joined = [i for g in make_groups(given_as, config, seed=seed) for i in g.member_ids]
        start = order.index(joined[0])
        assert joined == order[start:] + order[:start]


def test_a_pool_gives_back_its_learners():
    pool = Pool.of([Candidate(3, "Asia/Tokyo", "ja"), Candidate(1, "UTC", "en"), Candidate(2, "Asia/Tokyo", "en")])
    assert list(pool) == [Candidate(3, "Asia/Tokyo", "ja"), Candidate(1, "UTC", "en"), Candidate(2, "Asia/Tokyo", "en")]
    assert pool.zones == ["Asia/Tokyo", "UTC"] and pool.languages == ["ja", "en"] and len(pool) == 3
