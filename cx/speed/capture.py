"""``cx bench --capture``: the survey pages under load, on the real server over loopback.

``respondents`` simulated customers answer the default survey at once for ``seconds`` (each a
loop: a random agency's open link, a random path, a new client address per survey as a reverse
proxy would forward it), while a signed-in dashboard page load is timed every second; the same
probe is timed before the load for the reference. Afterwards every acknowledged answer (a
thank-you page) is looked up in the store and in the waves' Parquet: lost = acknowledged but
missing, duplicated = one response id more than once. Figures, never assertions.
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import os
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import polars as pl
from sqlmodel import col, select

from cx import store
from cx.capture import answers, links, surveys
from cx.core import data, keys, org, users
from cx.demo.dataset import write_demo
from cx.store import sessions
from cx.store.models import SurveyAnswer

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
CHANNELS = ("qr", "web", "sms", "email")
PROFILES = ("promoter", "passive", "detractor", "detractor_callback", "low_attribute")
UNLOADED_PROBES = 15
FOLD_WAIT = 60.0
TIMEOUT = 30.0
ONE_CONNECTION = httpx.Limits(max_connections=1, max_keepalive_connections=1)

_HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')
_RADIO = re.compile(r'<input type="radio" id="[^"]*" name="([\w-]+)" value="([^"]*)"')
_TEXT = re.compile(r'<textarea id="[^"]*" name="([\w-]+)"')
_TEL = re.compile(r'<input type="tel" id="[^"]*" name="([\w-]+)"')
_SELECT = re.compile(r'<select id="[^"]*" name="([\w-]+)"[^>]*>(.*?)</select>', re.S)
_OPTION = re.compile(r'<option value="([^"]*)"')


class BenchError(Exception):
    """The load test could not run (no source checkout, the server did not start)."""


# ---------------------------------------------------------------- a respondent's answers


def answers_for(page: str, profile: str, rng: random.Random) -> dict[str, str]:
    """The form fields of one step page filled as a respondent of ``profile`` would: the page
    decides which questions apply, the profile only picks the scores and the callback."""
    radios: dict[str, list[str]] = {}
    for name, value in _RADIO.findall(page):
        radios.setdefault(name, []).append(html.unescape(value))
    low = "attr_" + rng.choice(("cleanliness", "waiting_time", "staff_attitude"))
    out: dict[str, str] = {}
    for name, values in radios.items():
        if name == "nps":
            score = {
                "promoter": rng.randint(9, 10),
                "passive": rng.randint(7, 8),
                "low_attribute": rng.randint(3, 8),
            }.get(profile, rng.randint(0, 6))
            out[name] = str(score)
        elif name.startswith("attr_"):
            lowest = 1 if profile == "low_attribute" and name == low else 6
            out[name] = str(rng.randint(lowest, 4 if lowest == 1 else 10))
        elif name == "csat":
            out[name] = str(rng.randint(4, 5) if profile == "promoter" else rng.randint(1, 4))
        elif name == "callback":
            out[name] = "yes" if profile == "detractor_callback" else "no"
        else:  # a follow-up choice
            out[name] = rng.choice(values)
    for name in _TEXT.findall(page):
        out[name] = rng.choice(
            ("Fast and friendly.", "Long queue at noon.", "Nothing to add.", "Muy bien atendido.")
        )
    for name in _TEL.findall(page):
        out[name] = f"+34 6{rng.randint(10_000_000, 99_999_999)}"
    for name, options in _SELECT.findall(page):
        out[name] = rng.choice(_OPTION.findall(options) or [""])
    return out


def hidden_fields(page: str) -> dict[str, str]:
    return {k: html.unescape(v) for k, v in _HIDDEN.findall(page)}


def response_id_of(page: str) -> str | None:
    """The response id the answer begun on ``page`` will be stored under (from the submission
    nonce in its signed state), to find it in the store and in the Parquet afterwards."""
    body = hidden_fields(page).get("state", "").partition(".")[0]
    try:
        state = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        return answers.response_id_for(str(state["n"]))
    except (ValueError, KeyError, TypeError):
        return None


# ---------------------------------------------------------------- what the run records


@dataclass
class Tally:
    requests: list[float] = field(default_factory=list)  # seconds, every request
    submits: list[float] = field(default_factory=list)  # the posts answered by a thank-you page
    errors: Counter[str] = field(default_factory=Counter)  # status (or exception) -> count
    accepted: list[str] = field(default_factory=list)  # response ids acknowledged
    last_accept: float = 0.0  # wall clock
    probes_loaded: list[float] = field(default_factory=list)
    probe_errors: int = 0
    warm_up: float = 0.0  # seconds until the first answer was looped (the rules' first run)


def _pct(values: list[float], q: float) -> float | None:
    """The ``q`` percentile (nearest rank) in milliseconds."""
    if not values:
        return None
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))], 1)


# ---------------------------------------------------------------- the server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(root: Path, env: dict[str, str]) -> Iterator[str]:
    """``streamlit run app.py`` on a free loopback port on ``root``; its URL once it answers."""
    if not APP.exists():
        raise BenchError(f"cx bench --capture needs a source checkout ({APP} is missing)")
    port = _free_port()
    log_path = root / f"streamlit-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "streamlit", "run", str(APP)),
                *("--server.port", str(port), "--server.address", "127.0.0.1"),
                *("--server.headless", "true", "--browser.gatherUsageStats", "false"),
                *("--server.fileWatcherType", "none"),
            ],
            cwd=ROOT,
            env={**os.environ, "CX_DATA_DIR": str(root), **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = log_path.read_text(errors="replace")[-600:]
                    raise BenchError(f"the server did not start: {tail}")
                try:
                    if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _prepare(root: Path, rows: int) -> tuple[list[str], str, Any]:
    """The data folder (demo waves, default survey), the open links, a signed-in session's
    token for the dashboard probe and the store's engine."""
    if not data.has_waves(root):
        write_demo(root, rows=rows)
    survey = surveys.ensure_default(root)
    paths = []
    for agency in org.load(root).agencies:
        for channel in CHANNELS:
            try:
                paths.append(links.open_link(survey.id, agency.name, channel))
            except ValueError:  # a name that cannot go in a link
                continue
    users_file = root / "bench-users.yaml"
    users_file.unlink(missing_ok=True)
    user = users.add(
        "bench-viewer",
        password=secrets.token_urlsafe(18),
        name="Bench viewer",
        email="bench@cx-bench.example",
        roles=["ceo"],
        scope=["world"],
        path=users_file,
    )
    engine = store.init(store.make_engine(f"sqlite:///{root / 'cx.db'}"))
    token = sessions.open_session(engine, user, address="127.0.0.1", user_agent="cx bench")
    return paths, token, engine


# ---------------------------------------------------------------- the load


async def _respondent(
    client: httpx.AsyncClient,
    paths: list[str],
    tally: Tally,
    deadline: float,
    think: float,
    rng: random.Random,
    addresses: Iterator[str],
    *,
    once: bool = False,
) -> None:
    async def call(method: str, path: str, headers: dict[str, str], **kw: Any) -> httpx.Response:
        t0 = time.perf_counter()
        try:
            r = await client.request(method, path, headers=headers, **kw)
        except httpx.HTTPError as exc:
            tally.requests.append(time.perf_counter() - t0)
            tally.errors[exc.__class__.__name__] += 1
            raise
        tally.requests.append(time.perf_counter() - t0)
        if r.status_code != 200:
            tally.errors[str(r.status_code)] += 1
        return r

    if think and not once:  # people do not all open the survey in the same millisecond
        await asyncio.sleep(rng.uniform(0, think))
    while time.monotonic() < deadline:
        headers = {"X-Forwarded-For": next(addresses), "Accept": "text/html"}
        path, profile = rng.choice(paths), rng.choice(PROFILES)
        try:
            r = await call("GET", path, headers)
            if r.status_code != 200:
                await asyncio.sleep(0.5)
                continue
            rid = response_id_of(r.text)
            for _ in range(12):
                if think:
                    pause = think * rng.uniform(0.5, 1.5)
                    await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
                if time.monotonic() >= deadline:
                    break  # abandoned at the end of the run: nothing was acknowledged
                form = {**hidden_fields(r.text), **answers_for(r.text, profile, rng)}
                t0 = time.perf_counter()
                r = await call("POST", path, headers, data=form)
                if r.status_code != 200:
                    break
                if "<form" not in r.text:  # the thank-you page: the answer was accepted
                    tally.submits.append(time.perf_counter() - t0)
                    tally.last_accept = time.time()
                    if rid is not None:
                        tally.accepted.append(rid)
                    break
        except httpx.HTTPError:
            await asyncio.sleep(0.5)
        if once:
            return


async def _probe(client: httpx.AsyncClient, token: str) -> tuple[float, bool]:
    """One signed-in dashboard page load: its seconds and whether it was served (not sent to
    the sign-in page)."""
    t0 = time.perf_counter()
    try:
        r = await client.get("/", headers={"Accept": "text/html"}, cookies={sessions.COOKIE: token})
    except httpx.HTTPError:
        return time.perf_counter() - t0, False
    return time.perf_counter() - t0, r.status_code == 200


async def _probes(client: httpx.AsyncClient, token: str, tally: Tally, deadline: float) -> None:
    while time.monotonic() < deadline:
        started = time.monotonic()
        seconds, ok = await _probe(client, token)
        tally.probes_loaded.append(seconds)
        tally.probe_errors += not ok
        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))


async def _load(
    url: str,
    paths: list[str],
    token: str,
    engine: Any,
    respondents: int,
    seconds: float,
    think: float,
) -> tuple[Tally, list[float], int, float]:
    """One answer to warm the loop up, the unloaded reference probes, then the load and the
    loaded probes; the tally, the reference probes, their failures and the load's duration."""
    tally = Tally()
    async with (
        httpx.AsyncClient(base_url=url, timeout=TIMEOUT, limits=ONE_CONNECTION) as client,
        httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as dashboard,
    ):
        await _probe(dashboard, token)  # warm-up: the first page load reads the bundle from disk
        warm = Tally()
        await _respondent(
            client,
            paths,
            warm,
            time.monotonic() + 30,
            0.0,
            random.Random(1),
            iter(["10.255.0.1"]),
            once=True,
        )
        tally.accepted += warm.accepted
        warm_started = time.monotonic()
        await asyncio.to_thread(_wait_for_loop, engine)
        tally.warm_up = time.monotonic() - warm_started
        unloaded, failed = [], 0
        for _ in range(UNLOADED_PROBES):
            took, ok = await _probe(dashboard, token)
            unloaded.append(took)
            failed += not ok
            await asyncio.sleep(0.2)
        rng = random.Random(20_260)
        serial = iter(range(1, 1 << 24))
        addresses = (f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}" for n in serial)
        # one client (one kept-alive connection) per respondent, as each phone has its own: a
        # single pool of 200 connections costs the load tool itself seconds per request
        # (httpx scans its whole pool for every request), which the figures would then show
        async with AsyncExitStack() as stack:
            phones = [
                await stack.enter_async_context(
                    httpx.AsyncClient(base_url=url, timeout=TIMEOUT, limits=ONE_CONNECTION)
                )
                for _ in range(respondents)
            ]
            started = time.monotonic()
            deadline = started + seconds
            await asyncio.gather(
                _probes(dashboard, token, tally, deadline),
                *(
                    _respondent(
                        phone,
                        paths,
                        tally,
                        deadline,
                        think,
                        random.Random(rng.random()),
                        addresses,
                    )
                    for phone in phones
                ),
            )
        return tally, unloaded, failed, time.monotonic() - started


# ---------------------------------------------------------------- the accounting


def _capture_ids(root: Path) -> list[str]:
    files = sorted(data.waves_dir(root).glob(f"wave=*/{answers.CAPTURE_PART}"))
    if not files:
        return []
    return pl.read_parquet(files, columns=["response_id"])["response_id"].to_list()


def _wait_for_fold(root: Path, accepted: set[str]) -> float | None:
    """Wall time at which every acknowledged answer was in the Parquet (None: not within a
    minute)."""
    deadline = time.monotonic() + FOLD_WAIT
    while time.monotonic() < deadline:
        try:
            if accepted <= set(_capture_ids(root)):
                return time.time()
        except (OSError, pl.exceptions.PolarsError):  # a file replaced while being read
            pass
        time.sleep(0.25)
    return None


def _wait_for_loop(engine: Any) -> None:
    """Until an answer has been looped: the first run of the routing rules compiles the comment
    taxonomy and lexicons (seconds of CPU), a start-up cost kept out of the measured load."""
    deadline = time.monotonic() + FOLD_WAIT
    while time.monotonic() < deadline:
        with store.session(engine) as s:
            if s.exec(
                select(SurveyAnswer.id).where(col(SurveyAnswer.looped_at).is_not(None))
            ).first():
                return
        time.sleep(0.2)


def _stored_ids(engine: Any) -> list[str]:
    with store.session(engine) as s:
        return list(s.exec(select(SurveyAnswer.response_id)))


def run(
    respondents: int = 200,
    seconds: float = 60.0,
    *,
    rows: int = 50_000,
    think: float = 5.0,
    workdir: Path | None = None,
) -> list[dict[str, Any]]:
    """Run the load and return one row per figure: ``figure``, ``value``, ``unit``."""
    own = workdir is None
    root = Path(tempfile.mkdtemp(prefix="cx-bench-capture-")) if own else workdir
    assert root is not None
    try:
        paths, token, engine = _prepare(root, rows)
        env = {
            "CX_SIGNING_KEY": keys.signing_key(),  # the links and state were signed with it
            "CX_TRUSTED_PROXIES": "127.0.0.1",
            "CX_USERS_FILE": str(root / "bench-users.yaml"),
            "DATABASE_URL": "",
            "CX_SMTP_HOST": "",
            "CX_TELEGRAM_TOKEN": "",
        }
        with server(root, env) as url:
            tally, unloaded, unloaded_failed, took = asyncio.run(
                _load(url, paths, token, engine, respondents, seconds, think)
            )
            accepted = set(tally.accepted)
            visible_at = _wait_for_fold(root, accepted)
            stored = Counter(_stored_ids(engine))
        in_parquet = Counter(_capture_ids(root))
        lost = len({rid for rid in accepted if not stored[rid] or not in_parquet[rid]})
        duplicated = len({rid for rid, c in (*stored.items(), *in_parquet.items()) if c > 1})
        loaded = tally.probes_loaded
        p95_loaded, p95_unloaded = _pct(loaded, 95), _pct(unloaded, 95)
        figures: list[tuple[str, Any, str]] = [
            ("respondents", respondents, "concurrent"),
            ("seconds", round(took, 1), "s"),
            ("think time", think, "s per page (mean)"),
            ("warm-up", round(tally.warm_up, 1), "s, first answer to looped (not measured)"),
            ("completed surveys", len(tally.submits), "thank-you pages"),
            ("submits per second", round(len(tally.submits) / took, 1), "/s"),
            ("requests per second", round(len(tally.requests) / took, 1), "/s"),
            ("submit p50", _pct(tally.submits, 50), "ms"),
            ("submit p95", _pct(tally.submits, 95), "ms"),
            ("submit p99", _pct(tally.submits, 99), "ms"),
            ("any request p50", _pct(tally.requests, 50), "ms"),
            ("any request p95", _pct(tally.requests, 95), "ms"),
            ("errors", sum(tally.errors.values()), "responses"),
            *((f"errors [{k}]", n, "responses") for k, n in sorted(tally.errors.items())),
            ("stored", sum(stored.values()), "SurveyAnswer rows"),
            ("in Parquet", sum(in_parquet.values()), "capture.parquet rows"),
            ("lost", lost, "acknowledged, not stored or not in Parquet"),
            ("duplicated", duplicated, "response ids more than once"),
            ("stored without acknowledgement", len(set(stored) - accepted), "answers"),
            ("dashboard p50 unloaded", _pct(unloaded, 50), "ms"),
            ("dashboard p95 unloaded", p95_unloaded, "ms"),
            ("dashboard p50 loaded", _pct(loaded, 50), "ms"),
            ("dashboard p95 loaded", p95_loaded, "ms"),
            (
                "dashboard p95 ratio",
                round(p95_loaded / p95_unloaded, 2) if p95_loaded and p95_unloaded else None,
                "loaded / unloaded",
            ),
            ("dashboard probes failed", tally.probe_errors + unloaded_failed, "probes"),
            (
                "fold delay",
                round(visible_at - tally.last_accept, 1) if visible_at and accepted else None,
                "s, last acknowledgement to visible in Parquet",
            ),
        ]
        return [{"figure": name, "value": value, "unit": unit} for name, value, unit in figures]
    finally:
        if own:
            shutil.rmtree(root, ignore_errors=True)
