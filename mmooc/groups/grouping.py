"""The grouping algorithm: learners in, proposed study groups out. Pure: no database.

Learners are first split by language: a language with at least `min_size` learners (and
at least the minimum group size) keeps
its own groups; the others are pooled together (and the pooled groups say so). Within one
language, learners are placed on a 24-hour circle by their UTC offset on the cohort's
start date (daylight saving time included), so UTC+13 sits next to UTC−11. The circle is
cut into the smallest number of contiguous runs that respects the maximum size, with sizes
that differ by at most one, choosing where to start and which runs get the extra member so
that the widest run is as narrow as possible.

No group is formed below the minimum group size (`min_group`, 5 unless configured; never
more than the maximum): when the fewest runs the maximum allows would leave a run that
small, the set is cut into fewer runs, so the learners who would have made it join their
nearest neighbours on the clock, in groups that may pass the maximum. A language set
smaller than the minimum joins another (see `_by_language`). Learners who are, all
together, fewer than the minimum form no group: `plan_groups` lists them as not placed, with
the reason, so that nobody is lost from a preview.

Why this is fast: a run's width depends only on which offsets its first and last members
have, and there are few distinct offsets. Some best cut always starts at a boundary between
two distinct offsets (sliding every cut forward inside a block of equal offsets never widens
a run), so only those starts are tried. For one start, a dynamic programme over the runs
keeps, for each possible end position, the narrowest widest-run-so-far; it is stored as a
few constant pieces (positions between offset boundaries behave alike), so each step costs
a handful of operations instead of one per learner.
"""

from __future__ import annotations

import math
import random
from array import array
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from mmooc.lib.timezones import utc_offset_hours

DAY = 24.0
INF = math.inf
# Late joiners may fill a group this far above the largest size grouping forms.
LATE_ROOM = 0.25
# Groups smaller than this are not formed: their learners join the nearest group.
DEFAULT_MIN_GROUP = 5
# Time zones a group's description names (the most common among its members).
ZONES_SHOWN = 4


class GroupingError(ValueError):
    """Settings that cannot give groups; the message is meant for a course organizer."""


@dataclass(frozen=True, slots=True)
class Candidate:
    id: int
    timezone: str
    language: str = "en"
    attributes: Mapping[str, object] = field(default_factory=dict)


class Pool:
    """Learners to group, column by column: ids, and codes for their time zones and languages.

    A million learners take some 16 MB this way; as Candidate objects, each with its own
    strings, they took over 300 MB. Iterating gives Candidates.
    """

    def __init__(self) -> None:
        self.ids = array("q")
        self.zone_codes = array("I")  # index into self.zones
        self.language_codes = array("I")  # index into self.languages
        self.zones: list[str] = []
        self.languages: list[str] = []
        self._codes: tuple[dict[str, int], dict[str, int]] = ({}, {})
        self._in_order, self._last = True, -math.inf  # whether the ids came in increasing order

    @classmethod
    def of(cls, learners: Iterable[Candidate | tuple[int, str, str]]) -> Pool:
        """A pool of Candidates, or of (id, time zone, language) rows."""
        pool = cls()
        pool.extend((c.id, c.timezone, c.language) if isinstance(c, Candidate) else c for c in learners)
        return pool

    def add(self, learner_id: int, zone: str, language: str) -> None:
        self.extend([(learner_id, zone, language)])

    def extend(self, rows: Iterable[tuple[int, str, str]]) -> None:
        """`add` for many (id, time zone, language) rows: a few lookups a row."""
        zone_codes, language_codes = self._codes
        add_id, add_zone, add_language = self.ids.append, self.zone_codes.append, self.language_codes.append
        last, in_order = self._last, self._in_order
        for learner_id, zone, language in rows:
            if learner_id < last:
                in_order = False
            last = learner_id
            add_id(learner_id)
            code = zone_codes.get(zone)
            add_zone(self._code(0, self.zones, zone) if code is None else code)
            code = language_codes.get(language)
            add_language(self._code(1, self.languages, language) if code is None else code)
        self._last, self._in_order = last, in_order

    def _code(self, which: int, names: list[str], name: str) -> int:
        codes = self._codes[which]
        code = codes.get(name)
        if code is None:
            code = codes[name] = len(names)
            names.append(name)
        return code

    def by_id(self) -> Pool:
        """The pool in id order: itself when it already is (learners are read in that order);
        learners sharing an id keep their order."""
        if self._in_order:
            return self
        ids, pool = self.ids, Pool()
        pool.zones, pool.languages, pool._codes = self.zones, self.languages, self._codes
        for i in sorted(range(len(ids)), key=ids.__getitem__):
            pool.ids.append(ids[i])
            pool.zone_codes.append(self.zone_codes[i])
            pool.language_codes.append(self.language_codes[i])
        return pool

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[Candidate]:
        zones, languages = self.zones, self.languages
        for learner_id, zone, language in zip(self.ids, self.zone_codes, self.language_codes, strict=True):
            yield Candidate(learner_id, zones[zone], languages[language])


# What the algorithm takes: Candidates, or a Pool of them.
Learners = Sequence[Candidate] | Pool


@dataclass(frozen=True)
class GroupSettings:
    target_size: int = 40
    min_size: int | None = None  # default: half the maximum
    max_size: int | None = None  # default: the target size
    start_date: date | None = None  # offsets are taken on this day; None = today
    # No group is formed smaller than this (nor than the maximum): its learners join the
    # nearest groups of their language set instead, which may then pass the maximum.
    min_group: int = DEFAULT_MIN_GROUP

    @property
    def largest(self) -> int:
        return self.max_size or self.target_size

    @property
    def smallest(self) -> int:
        return self.min_size if self.min_size is not None else max(1, (self.largest + 1) // 2)

    @property
    def floor(self) -> int:
        """The smallest group formed: the minimum group size, or the maximum if that is smaller."""
        return max(1, min(self.min_group, self.largest))

    @property
    def keeps_language(self) -> int:
        """How many learners a language needs to keep groups of its own."""
        return max(self.smallest, self.floor)

    @property
    def capacity(self) -> int:
        """How many members late joiners may fill a group up to."""
        return self.largest + max(1, math.ceil(self.largest * LATE_ROOM))

    def check(self) -> None:
        if self.target_size < 2:
            raise GroupingError("The group size must be at least 2.")
        if self.largest < 2:
            raise GroupingError("The maximum group size must be at least 2.")
        if self.min_group < 1:
            raise GroupingError("The smallest group size must be at least 1.")
        if not 1 <= self.smallest <= (self.largest + 1) // 2:
            raise GroupingError(
                f"The minimum group size must be between 1 and {(self.largest + 1) // 2} (half the "
                f"maximum of {self.largest}), or some learners could not be given a group of an "
                "allowed size.")


@dataclass(frozen=True)
class ProposedGroup:
    number: int
    # In order around the circle; an array of ids (a million as a tuple of ints take five times the memory).
    member_ids: Sequence[int]
    language: str  # "" for a pooled group
    languages: tuple[str, ...]  # every language among the members
    pooled: bool
    span_hours: float  # the narrowest arc of the day holding every member's offset
    first_offset: float  # UTC offset (hours) of the first member around the circle
    last_offset: float  # … and of the last one
    zones: tuple[tuple[str, int], ...] = ()  # (time zone, members), most members first

    @property
    def zones_label(self) -> str:
        """The group's time zones, most members first: "Asia/Tokyo (3), Pacific/Auckland (2)"."""
        shown = [f"{zone} ({n})" for zone, n in self.zones[:ZONES_SHOWN]]
        rest = len(self.zones) - ZONES_SHOWN
        return ", ".join(shown) + (f" and {rest} more" if rest > 0 else "")

    @property
    def size(self) -> int:
        return len(self.member_ids)

    @property
    def offsets_label(self) -> str:
        """Where the group is on the clock: "UTC−5 to UTC−3", or one offset."""
        first, last = format_offset(self.first_offset), format_offset(self.last_offset)
        return first if first == last else f"{first} to {last}"


@dataclass(frozen=True)
class Unplaced:
    """A learner grouping leaves without a group, and why (words for a course organizer)."""

    id: int
    timezone: str
    language: str
    reason: str


@dataclass(frozen=True)
class Plan:
    groups: list[ProposedGroup]
    unplaced: tuple[Unplaced, ...] = ()


def too_few_reason(count: int, floor: int) -> str:
    people = "learner waits" if count == 1 else "learners wait"
    return (f"Only {count} {people} for a group, fewer than the minimum group size of {floor}: "
            "they are placed once more learners are waiting, or with a lower minimum.")


def plan_groups(learners: Learners, settings: GroupSettings, seed: int = 0) -> Plan:
    """Study groups for `learners`, numbered from 1, and the learners left without one (with why):
    every learner is in exactly one of the two. The seed only breaks ties."""
    settings.check()
    if 0 < len(learners) < settings.floor:
        reason = too_few_reason(len(learners), settings.floor)
        return Plan([], tuple(Unplaced(c.id, c.timezone, c.language, reason)
                              for c in sorted(learners, key=lambda c: c.id)))
    return Plan(_make_groups(learners, settings, seed))


def make_groups(learners: Learners, settings: GroupSettings, seed: int = 0) -> list[ProposedGroup]:
    """The groups of `plan_groups` (learners too few for a group are in none)."""
    return plan_groups(learners, settings, seed).groups


def _make_groups(learners: Learners, settings: GroupSettings, seed: int) -> list[ProposedGroup]:
    pool = learners if isinstance(learners, Pool) else Pool.of(learners)
    pool = pool.by_id()
    clock = _Clock(pool, settings.start_date or date.today())
    groups: list[ProposedGroup] = []
    for language, positions in _by_language(pool, settings.keeps_language):
        circle = _Circle(pool, positions, clock, seed)
        for lo, hi in _runs(circle, group_count(circle.n, settings)):
            groups.append(circle.proposed(len(groups) + 1, language, lo, hi))
    return groups


def group_count(n: int, settings: GroupSettings) -> int:
    """How many groups n learners of one language set make: the fewest the maximum allows,
    unless that would leave a group under the floor; then fewer, larger groups, so that the
    learners who would have made it join their nearest neighbours on the clock."""
    return max(1, min(math.ceil(n / settings.largest), n // settings.floor))


def utc_offsets(zones: set[str], on: date) -> dict[str, float]:
    """Each zone's UTC offset in hours on `on`; unknown zone names count as UTC."""
    result = {}
    for name in zones:
        try:
            result[name] = utc_offset_hours(name, on)
        except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
            result[name] = 0.0
    return result


def _by_language(pool: Pool, min_size: int) -> list[tuple[str, array[int]]]:
    """(language, positions in the pool) sets: "" is the pool of languages too small for their
    own groups. Positions keep the pool's order."""
    counts = Counter({pool.languages[code]: n for code, n in Counter(pool.language_codes).items()})
    kept = sorted((lang for lang, n in counts.items() if n >= min_size), key=lambda lang: (-counts[lang], lang))
    pooled = {lang for lang in counts if lang not in kept}
    pool_size = sum(counts[lang] for lang in pooled)
    if 0 < pool_size < min_size and kept:
        # Too few for a group of their own: they join the smallest language, whose groups
        # become pooled in turn.
        pooled.add(kept.pop())
    # One pass over the learners: each language set's positions, in the pool's order.
    where = [kept.index(lang) if lang in kept else len(kept) for lang in pool.languages]
    sets: list[array[int]] = [array("I") for _ in range(len(kept) + 1)]
    appends = [positions.append for positions in sets]
    for i, code in enumerate(pool.language_codes):
        appends[where[code]](i)
    return [(lang, sets[i]) for i, lang in enumerate(kept)] + ([("", sets[-1])] if pooled else [])


class _Clock:
    """Where the pool's learners are on the 24-hour circle, worked out once per time zone."""

    def __init__(self, pool: Pool, on: date) -> None:
        offsets = utc_offsets(set(pool.zones), on)
        self.zone_offset = [offsets[zone] for zone in pool.zones]  # UTC offset by zone code
        self.zone_point = [offset % DAY for offset in self.zone_offset]  # place on the circle by zone code
        self.points = sorted(set(self.zone_point))  # the distinct places, in order
        rank = {point: i for i, point in enumerate(self.points)}
        zone_rank = [rank[point] for point in self.zone_point]
        self.ranks = array("I", map(zone_rank.__getitem__, pool.zone_codes))  # by position in the pool


class _Circle:
    """One language set around the 24-hour circle: members by offset, learners sharing an offset
    in an order set by the seed; column by column, with the offsets as blocks of equal values."""

    def __init__(self, pool: Pool, positions: array[int], clock: _Clock, seed: int) -> None:
        # The pool is in id order, so the shuffle is that of the learners sorted by id.
        order = array("I", positions)
        random.Random(seed).shuffle(order)
        self.pool, self.clock = pool, clock
        # Sorted (stably) by the rank of each learner's point among the distinct points.
        ordered = array("I", sorted(order, key=clock.ranks.__getitem__))
        counts = Counter(map(clock.ranks.__getitem__, ordered))
        self.n = len(ordered)
        self.blocks, start = [], 0
        for rank in sorted(counts):
            self.blocks.append((start, clock.points[rank]))
            start += counts[rank]
        self.ids = array("q", map(pool.ids.__getitem__, ordered))
        self.zones = array("I", map(pool.zone_codes.__getitem__, ordered))
        self.languages = array("I", map(pool.language_codes.__getitem__, ordered))

    def _around(self, column: array[int], lo: int, hi: int) -> array[int]:
        """column[lo:hi] around the circle (lo < 2n, hi - lo <= n)."""
        n = self.n
        if lo >= n:
            lo, hi = lo - n, hi - n
        return column[lo:hi] if hi <= n else column[lo:] + column[:hi - n]

    def proposed(self, number: int, language: str, lo: int, hi: int) -> ProposedGroup:
        pool, zone_counts = self.pool, Counter(self._around(self.zones, lo, hi))
        zones = Counter({pool.zones[code]: count for code, count in zone_counts.items()})
        langs = tuple(sorted({pool.languages[code] for code in set(self._around(self.languages, lo, hi))}))
        return ProposedGroup(
            number=number, member_ids=self._around(self.ids, lo, hi), language=language, languages=langs,
            pooled=language == "", span_hours=circular_span([self.clock.zone_point[code] for code in zone_counts]),
            first_offset=self.clock.zone_offset[self.zones[lo % self.n]],
            last_offset=self.clock.zone_offset[self.zones[(hi - 1) % self.n]],
            zones=tuple(sorted(zones.items(), key=lambda item: (-item[1], item[0]))))


def circular_span(points: Sequence[float]) -> float:
    """Hours of the narrowest arc of the day that holds every point (0 for one point)."""
    distinct = sorted({p % DAY for p in points})
    if len(distinct) < 2:
        return 0.0
    gaps = [b - a for a, b in zip(distinct, distinct[1:], strict=False)]
    gaps.append(distinct[0] + DAY - distinct[-1])
    return round(DAY - max(gaps), 6)


def _runs(circle: _Circle, k: int) -> list[tuple[int, int]]:
    """k contiguous runs [lo, hi) around the circle (indices may pass n), narrowest widest."""
    return _Cutter(_Extended(circle.blocks, circle.n), k).best()


class _Extended:
    """The circle's sorted points twice over, the second time a day later (positions 0 to 2n),
    read from their blocks of equal values: a position's value is its block's."""

    def __init__(self, blocks: list[tuple[int, float]], n: int) -> None:
        self.n = n
        self.starts = [start for start, _ in blocks]
        self.values = [value for _, value in blocks]

    def __len__(self) -> int:
        return 2 * self.n

    def __getitem__(self, i: int) -> float:
        if not 0 <= i < 2 * self.n:
            raise IndexError(i)
        value = self.values[bisect_right(self.starts, i % self.n) - 1]
        return value if i < self.n else value + DAY

    def bounds(self) -> list[int]:
        """Positions where the value changes from the one before: only blocks' starts can."""
        n = self.n
        candidates = self.starts[1:] + [n] + [n + start for start in self.starts[1:]]
        return [i for i in candidates if self[i] != self[i - 1]]


class _Cutter:
    """Cuts sorted circle points into k runs of sizes q or q+1 (r of q+1), minimizing the widest."""

    def __init__(self, ext: _Extended, k: int) -> None:
        self.n = ext.n
        self.k = k
        self.q, self.r = divmod(self.n, k)
        self.ext = ext
        # Positions where the offset changes; a run's width only changes across these.
        self.bounds = ext.bounds()

    def width(self, p: int, size: int) -> float:
        return self.ext[p + size - 1] - self.ext[p]

    def starts(self) -> list[int]:
        """Starts at offset boundaries, the one after the widest gap first (usually the best)."""
        n = self.n
        starts = [0] + [b for b in self.bounds if b < n]
        gap = {s: self.ext[s] - (self.ext[s - 1] if s else self.ext[n - 1] - DAY) for s in starts}
        return sorted(starts, key=lambda s: (-gap[s], s))

    def best(self) -> list[tuple[int, int]]:
        best, best_steps, best_start = INF, None, 0
        for s in self.starts():
            value, steps = self._solve(s, best)
            if value < best:
                best, best_steps, best_start = value, steps, s
        assert best_steps is not None
        return self._runs_back(best_start, best_steps)

    def _inside_block(self, first: int, last: int) -> bool:
        """Whether positions first..last all hold the same offset."""
        i = bisect_right(self.bounds, first)
        return i == len(self.bounds) or self.bounds[i] > last

    def _window(self, s: int, j: int) -> tuple[int, int]:
        """Possible end positions after j runs, keeping exactly r large runs reachable."""
        lo = max(0, self.r - (self.k - j))
        hi = min(j, self.r)
        return s + j * self.q + lo, s + j * self.q + hi

    def _solve(self, s: int, cap: float) -> tuple[float, list[list[tuple[int, int, float]]]]:
        """Narrowest widest run from start s (or INF if not below cap), with the pieces of each step."""
        pieces = [(s, s, 0.0)]
        steps = [pieces]
        sizes = (self.q, self.q + 1) if self.r else (self.q,)
        longest = sizes[-1]
        for j in range(1, self.k + 1):
            lo, hi = self._window(s, j)
            if len(pieces) == 1 and self._inside_block(pieces[0][0], pieces[0][1] + longest - 1):
                # The common case: every run starts and ends among equal offsets (width 0).
                a, b, v = pieces[0]
                shifted = (max(a + sizes[0], lo), min(b + longest, hi), v)
                pieces = [shifted] if shifted[0] <= shifted[1] else []
            else:
                grown: list[tuple[int, int, float]] = []
                for size in sizes:
                    for a, b, v in pieces:
                        grown.extend(self._grow(a, b, v, size, lo, hi, cap))
                pieces = _envelope(grown)
            if not pieces:
                return INF, steps
            steps.append(pieces)
        return pieces[0][2], steps

    def _grow(self, a: int, b: int, v: float, size: int, lo: int, hi: int,
              cap: float) -> Iterator[tuple[int, int, float]]:
        """Pieces of end positions reached from starts a..b with runs of `size`."""
        a, b = max(a, lo - size), min(b, hi - size)
        if a > b:
            return
        bounds = self.bounds
        cuts = set(bounds[bisect_right(bounds, a):bisect_right(bounds, b)])
        cuts.update(x - size + 1 for x in bounds[bisect_right(bounds, a + size - 1):
                                                 bisect_right(bounds, b + size - 1)])
        edges = [a, *sorted(cuts), b + 1]
        for x, y in zip(edges, edges[1:], strict=False):
            value = max(v, self.width(x, size))
            if value < cap:
                yield x + size, y - 1 + size, value

    def _runs_back(self, s: int, steps: list[list[tuple[int, int, float]]]) -> list[tuple[int, int]]:
        """Walk back from the end (s + n) through the stored pieces to recover the cuts."""
        p = s + self.n
        value = _value_at(steps[-1], p)
        assert value is not None  # the last step of a solved start holds its end
        runs = []
        for j in range(self.k, 0, -1):
            for size in (self.q, self.q + 1):
                prev = _value_at(steps[j - 1], p - size)
                if prev is not None and max(prev, self.width(p - size, size)) <= value:
                    runs.append((p - size, p))
                    p, value = p - size, prev
                    break
            else:  # pragma: no cover - the pieces always hold a way back
                raise AssertionError("no way back through the grouping steps")
        return runs[::-1]


def _value_at(pieces: list[tuple[int, int, float]], p: int) -> float | None:
    i = bisect_right(pieces, (p, INF, INF)) - 1
    if i >= 0 and pieces[i][0] <= p <= pieces[i][1]:
        return pieces[i][2]
    return None


def _envelope(pieces: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    """The lowest value at each position over overlapping pieces, as disjoint sorted pieces."""
    if len(pieces) <= 1:
        return pieces
    edges = sorted({a for a, _, _ in pieces} | {b + 1 for _, b, _ in pieces})
    out: list[tuple[int, int, float]] = []
    for x, y in zip(edges, edges[1:], strict=False):
        values = [v for a, b, v in pieces if a <= x and y - 1 <= b]
        if not values:
            continue
        v = min(values)
        if out and out[-1][2] == v and out[-1][1] == x - 1:
            out[-1] = (out[-1][0], y - 1, v)
        else:
            out.append((x, y - 1, v))
    return out



@dataclass(frozen=True)
class Summary:
    groups: int
    learners: int
    smallest: int
    largest: int
    widest_span: float
    pooled: int
    languages: tuple[str, ...]


def summarize(groups: Sequence[ProposedGroup]) -> Summary:
    """What a proposal amounts to, for the preview page and `mmooc group preview`."""
    sizes = [g.size for g in groups] or [0]
    return Summary(groups=len(groups), learners=sum(g.size for g in groups), smallest=min(sizes),
                   largest=max(sizes), widest_span=max((g.span_hours for g in groups), default=0.0),
                   pooled=sum(g.pooled for g in groups),
                   languages=tuple(sorted({lang for g in groups for lang in g.languages})))


def format_offset(hours: float) -> str:
    """UTC+5:30, UTC−3, UTC+0."""
    sign = "+" if hours >= 0 else "−"
    minutes = round(abs(hours) * 60)
    h, m = divmod(minutes, 60)
    return f"UTC{sign}{h}" + (f":{m:02d}" if m else "")
