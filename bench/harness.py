"""What every benchmark needs: run `gongdan serve` on a fresh database, percentiles, memory."""

from __future__ import annotations

import asyncio
import gc
import os
import re
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = ROOT / "deploy" / "gongdan.example.yaml"
PG_ADMIN = os.environ.get(
    "GONGDAN_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


Histogram = list[tuple[float, float]]  # cumulative (upper bound, count), as /metrics has them


async def commit_histogram(url: str, source: str) -> Histogram:
    """The service's own receive-to-commit histogram for `source`, read from its /metrics."""
    async with aiohttp.ClientSession() as http, http.get(url + "/metrics") as r:
        text = await r.text()
    pattern = rf'gongdan_inbound_commit_seconds_bucket{{source="{source}",le="([^"]+)"}} (\S+)'
    return [(float(le), float(n)) for le, n in re.findall(pattern, text)]


async def mean_batch(url: str) -> tuple[float, float]:
    """(commands, commits) so far, from gongdan_commit_batch_size: the difference of two reads
    over its commits is the mean group-commit size in between."""
    async with aiohttp.ClientSession() as http, http.get(url + "/metrics") as r:
        text = await r.text()
    total = re.search(r"^gongdan_commit_batch_size_sum (\S+)$", text, re.M)
    count = re.search(r"^gongdan_commit_batch_size_count (\S+)$", text, re.M)
    return (float(total.group(1)) if total else 0.0, float(count.group(1)) if count else 0.0)


def histogram_pct(before: Histogram, after: Histogram, q: float) -> float:
    """The q-quantile (seconds) of what was observed between two reads, linear within a bucket
    (as Prometheus' histogram_quantile); +Inf when it lies beyond the last finite bound."""
    counts = [(le, a - (before[i][1] if before else 0.0)) for i, (le, a) in enumerate(after)]
    if not counts or counts[-1][1] <= 0:
        return float("nan")
    rank = q * counts[-1][1]
    low, below = 0.0, 0.0
    for le, n in counts:
        if n >= rank:
            if le == float("inf"):
                return le
            return low + (le - low) * ((rank - below) / (n - below) if n > below else 1.0)
        low, below = le, n
    return float("inf")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process in MiB, from /proc."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", 0.0), fields.get("VmHWM", 0.0)


def reference_ms() -> float:
    """The machine's speed right now: best of 5 runs of a fixed pure-Python loop, in ms.

    Shared 2-core machines vary by half from hour to hour; printing this beside a figure lets
    runs on different days be compared (74 ms on a quiet day of the development machine)."""
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        sum(i * i for i in range(1_000_000))
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@asynccontextmanager
async def pg_database() -> AsyncIterator[str]:
    """A new PostgreSQL database for one run, dropped afterwards."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    name = f"gongdan_bench_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@asynccontextmanager
async def fresh_database(kind: str) -> AsyncIterator[str]:
    """A database URL for one run: a SQLite file in a temporary folder, or a new PostgreSQL
    database; either is gone afterwards."""
    if kind == "pg":
        async with pg_database() as url:
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="gongdan-bench-") as tmp:
        yield f"sqlite+aiosqlite:///{tmp}/bench.db"


@asynccontextmanager
async def serve(
    config: Path, db_url: str, *, log_level: str = "WARNING"
) -> AsyncIterator[tuple[str, int]]:
    """`gongdan serve` as a subprocess on a free port; yields (base URL, pid) once it is ready.

    The e-mail listener gets a free port too (the example config's 127.0.0.1:2525 would make two
    benchmarks, or a benchmark and a running service, collide), and follow-ups are off: the
    benchmarks send many messages from a few people into one room, each meant as a new ticket
    (with the default 5-minute window, a person's next message is a comment on their last)."""
    with tempfile.TemporaryDirectory(prefix="gongdan-bench-") as tmp:
        async with _serve(_bench_config(config, Path(tmp)), db_url, log_level) as served:
            yield served


def _bench_config(config: Path, directory: Path) -> Path:
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    email = (data.get("channels") or {}).get("email") or {}
    if email.get("smtp_listen"):
        email["smtp_listen"] = f"127.0.0.1:{free_port()}"
    data.setdefault("conversation", {})["follow_up_minutes"] = 0
    path = directory / config.name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@asynccontextmanager
async def _serve(config: Path, db_url: str, log_level: str) -> AsyncIterator[tuple[str, int]]:
    port = free_port()
    env = {
        **os.environ,
        "GONGDAN_DATABASE_URL": db_url,
        "GONGDAN_PORT": str(port),
        "GONGDAN_LOG_LEVEL": log_level,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", "--config", str(config), cwd=ROOT, env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(url + "/readyz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("the service did not become ready")
        yield url, proc.pid
    finally:
        if proc.returncode is None:
            proc.terminate()
        await asyncio.wait_for(proc.wait(), 60)


class Phase:
    """What the service did over one phase of COUNT messages: its CPU, its own receive-to-commit
    histogram for `source` (phases must not overlap) and commands per commit.

    While a phase runs, this process's garbage collector is off. This process is the load (and
    the platform's double): its collector, walking every payload it had sent, stopped it every
    5 s or so, for longer as the run went on (24 ms at first, 283 ms by the end of a 30 s open
    loop, measured with gc.callbacks), and the frames held back then went out in one burst. An open loop that pauses is not an open loop: the
    service's tail measured the generator. Garbage is collected between phases."""

    def __init__(self, url: str, pid: int, source: str, count: int) -> None:
        self.url, self.pid, self.source, self.count = url, pid, source, count
        self.cpu = 0.0
        self.before: Histogram = []
        self.after: Histogram = []
        self.batches = (0.0, 0.0)

    async def __aenter__(self) -> Phase:
        gc.collect()
        gc.disable()
        self.before = await commit_histogram(self.url, self.source)
        self.batches = await mean_batch(self.url)
        self.cpu = cpu_seconds(self.pid)
        return self

    async def __aexit__(self, *exc: object) -> None:
        gc.enable()
        self.cpu = cpu_seconds(self.pid) - self.cpu
        self.after = await commit_histogram(self.url, self.source)
        done, commits = (
            a - b for a, b in zip(await mean_batch(self.url), self.batches, strict=True)
        )
        self.batches = (done, commits)

    def summary(self) -> str:
        """Receive-to-commit percentiles, CPU per message, commands per commit."""
        p50 = histogram_pct(self.before, self.after, 0.5) * 1000
        p99 = histogram_pct(self.before, self.after, 0.99) * 1000
        done, commits = self.batches
        return (
            f"receive-to-commit p50 {p50:.1f} ms, p99 {p99:.1f} ms; service CPU "
            f"{self.cpu / self.count * 1000:.2f} ms per message; "
            f"{done / max(commits, 1):.1f} commands per commit"
        )
