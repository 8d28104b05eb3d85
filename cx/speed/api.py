"""``cx bench --api``: the REST API on the real server over loopback.

``GET /api/v1/kpis?by=agency`` from ``clients`` concurrent clients for ``seconds`` (latency p50 /
p95 and requests/s), the same load on ``GET /api/v1/health`` (no token, no data: the server's
own floor, for the ratio), then ``POST /api/v1/responses`` in batches of 1,000 and 10,000 fresh
responses (rows/s, each batch validated and stored all or nothing). Figures, never assertions.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from cx import store
from cx.core import data, keys, org
from cx.demo.dataset import write_demo
from cx.speed.capture import _pct, server
from cx.store import tokens

CLIENTS = 20
BATCHES = (1_000, 1_000, 10_000, 10_000)
TIMEOUT = 120.0


async def _hammer(
    url: str, path: str, headers: dict[str, str], clients: int, seconds: float
) -> tuple[list[float], Counter[str], float]:
    """``clients`` loops of GET ``path`` for ``seconds``: latencies, non-200 counts, duration."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=TIMEOUT, limits=limits
    ) as client:
        await client.get(path)  # warm-up: first scan of the files, first import of a module

        async def one(deadline: float) -> None:
            while time.monotonic() < deadline:
                t0 = time.perf_counter()
                try:
                    r = await client.get(path)
                except httpx.HTTPError as exc:
                    errors[exc.__class__.__name__] += 1
                    continue
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors[str(r.status_code)] += 1

        started = time.monotonic()
        await asyncio.gather(*(one(started + seconds) for _ in range(clients)))
        return latencies, errors, time.monotonic() - started


def _batch(n: int, agencies: list[org.Agency], start: datetime) -> list[dict[str, Any]]:
    """``n`` fresh data-contract responses over the organisation's agencies."""
    tag = uuid.uuid4().hex[:8]
    out = []
    for i in range(n):
        a = agencies[i % len(agencies)]
        out.append(
            {
                "response_id": f"bench-{tag}-{i:05d}",
                "responded_at": (start + timedelta(seconds=i)).isoformat(),
                "customer_id": f"B{i % 5000:06d}",
                "region": a.region,
                "country": a.country,
                "agency": a.name,
                "channel": ("email", "sms", "web", "qr")[i % 4],
                "nps": (i * 7) % 11,
                "csat": 1 + i % 5,
                "comment": "Quick and friendly." if i % 3 else None,
            }
        )
    return out


def _ingest(url: str, headers: dict[str, str], root: Path) -> list[tuple[int, float, int]]:
    """Each batch of :data:`BATCHES`: ``(rows, seconds, status)``."""
    agencies = list(org.load(root).agencies)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    out = []
    with httpx.Client(base_url=url, headers=headers, timeout=TIMEOUT) as client:
        client.post("/api/v1/responses", json=_batch(10, agencies, start))  # warm-up
        for n in BATCHES:
            body = _batch(n, agencies, start)
            t0 = time.perf_counter()
            r = client.post("/api/v1/responses", json=body)
            out.append((n, time.perf_counter() - t0, r.status_code))
    return out


def run(
    seconds: float = 10.0,
    rows: int = 50_000,
    *,
    clients: int = CLIENTS,
    workdir: Path | None = None,
) -> list[dict[str, Any]]:
    """Run the load and return one row per figure: ``figure``, ``value``, ``unit``."""
    own = workdir is None
    root = Path(tempfile.mkdtemp(prefix="cx-bench-api-")) if own else workdir
    assert root is not None
    try:
        if not data.has_waves(root):
            write_demo(root, rows=rows)
        engine = store.init(store.make_engine(f"sqlite:///{root / 'cx.db'}"))
        with store.session(engine) as s:
            name = f"bench-{uuid.uuid4().hex[:6]}"
            token = tokens.create(s, name, "world", "admin", by=tokens.SHELL)
        engine.dispose()
        env = {
            "CX_SIGNING_KEY": keys.signing_key(),  # the token was hashed with it
            "CX_API_RATE": str(10**9),
            "DATABASE_URL": "",
            "CX_SMTP_HOST": "",
            "CX_TELEGRAM_TOKEN": "",
        }
        auth = {"Authorization": f"Bearer {token}"}
        with server(root, env) as url:
            kpis, kpi_errors, kpi_took = asyncio.run(
                _hammer(url, "/api/v1/kpis?by=agency", auth, clients, seconds)
            )
            health, health_errors, health_took = asyncio.run(
                _hammer(url, "/api/v1/health", {}, clients, seconds)
            )
            batches = _ingest(url, auth, root)
        kpi_rps = len(kpis) / kpi_took
        health_rps = len(health) / health_took
        figures: list[tuple[str, Any, str]] = [
            ("responses in the data", rows, "rows"),
            ("clients", clients, "concurrent"),
            ("kpis seconds", round(kpi_took, 1), "s"),
            ("kpis requests", len(kpis), "GET /api/v1/kpis?by=agency"),
            ("kpis requests per second", round(kpi_rps, 1), "/s"),
            ("kpis p50", _pct(kpis, 50), "ms"),
            ("kpis p95", _pct(kpis, 95), "ms"),
            ("kpis errors", sum(kpi_errors.values()), "responses"),
            ("health requests per second", round(health_rps, 1), "/s (reference, no token)"),
            ("health p50", _pct(health, 50), "ms"),
            ("health p95", _pct(health, 95), "ms"),
            ("health errors", sum(health_errors.values()), "responses"),
            (
                "kpis / health requests per second",
                round(kpi_rps / health_rps, 3) if health_rps else None,
                "ratio",
            ),
        ]
        for n, took, status in batches:
            figures.append(
                (f"ingest batch of {n:,}", round(n / took), f"rows/s ({took:.2f} s, {status})")
            )
        return [{"figure": f, "value": v, "unit": u} for f, v, u in figures]
    finally:
        if own:
            shutil.rmtree(root, ignore_errors=True)
