"""A small Prometheus text-format registry: counters, gauges and histograms with labels."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

Labels = tuple[tuple[str, str], ...]

_DEFAULT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# finer where a commit's latency budget lies (tens of milliseconds), to read percentiles from
_COMMIT_BUCKETS = (
    *(0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05),
    *(0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0),
)


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(value: float) -> str:
    if math.isinf(value):
        return "+Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


@dataclass
class Counter:
    name: str
    help: str
    values: dict[Labels, float] = field(default_factory=dict)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        self.values[key] = self.values.get(key, 0.0) + amount

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        lines += [f"{self.name}{_labels(k)} {_num(v)}" for k, v in sorted(self.values.items())]
        return lines


@dataclass
class Gauge:
    name: str
    help: str
    read: Callable[[], float]

    def render(self) -> list[str]:
        return [
            f"# HELP {self.name} {self.help}",
            f"# TYPE {self.name} gauge",
            f"{self.name} {_num(self.read())}",
        ]


@dataclass
class CounterView:
    """A counter kept elsewhere (a channel's platform calls), read when /metrics is."""

    name: str
    help: str
    read: Callable[[], Mapping[Labels, float]]

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        lines += [f"{self.name}{_labels(k)} {_num(v)}" for k, v in sorted(self.read().items())]
        return lines


@dataclass
class Histogram:
    name: str
    help: str
    buckets: Sequence[float] = _DEFAULT_BUCKETS
    series: dict[Labels, list[float]] = field(default_factory=dict)  # bucket counts + [sum, count]

    def observe(self, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        row = self.series.get(key)
        if row is None:
            row = self.series[key] = [0.0] * (len(self.buckets) + 2)
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                row[i] += 1
        row[-2] += value
        row[-1] += 1

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        for key, row in sorted(self.series.items()):
            for i, bound in enumerate(self.buckets):
                lines.append(
                    f"{self.name}_bucket{_labels((*key, ('le', _num(bound))))} {_num(row[i])}"
                )
            lines.append(f"{self.name}_bucket{_labels((*key, ('le', '+Inf')))} {_num(row[-1])}")
            lines.append(f"{self.name}_sum{_labels(key)} {row[-2]!r}")
            lines.append(f"{self.name}_count{_labels(key)} {_num(row[-1])}")
        return lines


class Metrics:
    """Every metric the service exports; one instance per running service (no globals)."""

    def __init__(self) -> None:
        self.http_requests = Counter(
            "gongdan_http_requests_total", "HTTP requests by route and status."
        )
        self.http_latency = Histogram("gongdan_http_request_seconds", "HTTP request latency.")
        self.commands = Counter("gongdan_commands_total", "Commands handled, by kind and result.")
        self.batch_size = Histogram(
            "gongdan_commit_batch_size",
            "Commands per group commit.",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
        )
        self.outbox = Counter(
            "gongdan_outbox_deliveries_total", "Outbox deliveries by channel, kind, result."
        )
        self.inbound_commit = Histogram(
            "gongdan_inbound_commit_seconds",
            "From an inbound message's arrival (read off its socket or request) until it is "
            "committed, by source.",
            buckets=_COMMIT_BUCKETS,
        )
        self.inbound_duplicates = Counter(
            "gongdan_inbound_duplicates_total", "Inbound deliveries dropped as duplicates."
        )
        self.gauges: list[Gauge] = []
        self.views: list[CounterView] = []

    def render(self) -> str:
        lines: list[str] = []
        for metric in (
            self.http_requests,
            self.http_latency,
            self.commands,
            self.batch_size,
            self.inbound_commit,
            self.outbox,
            self.inbound_duplicates,
        ):
            lines += metric.render()
        for view in self.views:
            lines += view.render()
        for gauge in self.gauges:
            lines += gauge.render()
        return "\n".join(lines) + "\n"
