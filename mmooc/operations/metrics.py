"""The Prometheus metrics at /metrics: the event counters, and what each app measures.

Apps declare their counters and add collectors in `AppConfig.ready()`:

    metrics.counter("signups", "Signups stored, by where they came from.", label="source")
    metrics.collector(outbox_gauges)     # a function yielding prometheus_client metric families

A declared counter is exposed as `mmooc_<name>_total` from `counters.totals()`, at 0
before its first event; collectors run at each scrape, so each must stay cheap at scale
(an indexed read, never a scan of a large table).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from mmooc.operations import counters

PREFIX = "mmooc_"


@dataclass(frozen=True)
class Declared:
    name: str
    help: str
    label: str = ""  # the name of the label the counter's rows carry, if any


_declared: dict[str, Declared] = {}


def counter(name: str, help: str, *, label: str = "") -> None:
    _declared[name] = Declared(name, help, label)


class _Counters(Collector):
    def collect(self) -> Iterator[Metric]:
        totals = counters.totals()
        for declared in _declared.values():
            labels = [declared.label] if declared.label else []
            family = CounterMetricFamily(PREFIX + declared.name, declared.help, labels=labels)
            rows = sorted((label, n) for (name, label), n in totals.items() if name == declared.name)
            if not declared.label:
                family.add_metric([], sum(n for _, n in rows))
            for label, n in rows if declared.label else ():
                family.add_metric([label], n)
            yield family


class _Function(Collector):
    def __init__(self, fn: Callable[[], Iterable[Metric]]) -> None:
        self.fn = fn

    def collect(self) -> Iterable[Metric]:
        return self.fn()


registry = CollectorRegistry(auto_describe=False)
registry.register(_Counters())
_collectors: dict[str, _Function] = {}


def collector(fn: Callable[[], Iterable[Metric]]) -> None:
    """Run `fn` at every scrape (registering the same function again replaces it)."""
    key = f"{fn.__module__}.{fn.__qualname__}"
    if key in _collectors:
        registry.unregister(_collectors[key])
    _collectors[key] = _Function(fn)
    registry.register(_collectors[key])


def exposition(accept: str = "") -> tuple[bytes, str]:
    """Every metric, and the content type: Prometheus's text format (0.0.4 unless the scraper's
    Accept header asks for a later one, or for OpenMetrics)."""
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type
