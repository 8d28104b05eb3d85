"""The only module of ``cx`` that imports Streamlit: cached data, the logged-in user and
scope, shared filters, navigation by role, the URL state of a screen, the one way a page
writes (:func:`act`, with its message shown after the rerun by :func:`flash`), and the display
components and forms of the screens (their CSS included), so pages stay thin.
"""

from __future__ import annotations

import copy
import os
import secrets
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
import streamlit as st
from sqlmodel import Session

from cx import charts, ingest, store
from cx.analytics import overview, rollup
from cx.core import data, labels, roles, users
from cx.core import text as text_mod
from cx.core.filters import Filters
from cx.core.scope import Scope
from cx.core.users import User
from cx.demo import complaints, dataset
from cx.improve import meeting, plans
from cx.ingest import mapping
from cx.loop import alerts, cases, notify
from cx.store.models import Case, Plan, PlanComment, PlanTask

COOKIE_KEY_FILE = Path(".streamlit/.cookie_key")
FILTER_KEYS = ("wave", "channel", "touchpoint", "segment")
CACHE_TTL = 3600
CACHE_ENTRIES = 512
T = TypeVar("T")


@dataclass(frozen=True)
class PageSpec:
    """A screen: its file, title, icon, URL path, section and who may open it (None: everyone)."""

    path: str
    title: str
    icon: str
    url_path: str
    section: str
    roles: tuple[str, ...] | None = None
    scope_levels: tuple[str, ...] | None = None


MANAGERS = roles.DASHBOARD_READERS
FRONT_LINE = roles.FRONT_LINE
PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/overview.py", "Overview", ":material/dashboard:", "overview", "Dashboards"),
    PageSpec(
        "pages/segments.py",
        "Segments & RFM",
        ":material/groups:",
        "segments",
        "Dashboards",
        MANAGERS,
    ),
    PageSpec(
        "pages/drivers.py",
        "Strengths & weaknesses",
        ":material/balance:",
        "drivers",
        "Dashboards",
        MANAGERS,
    ),
    PageSpec(
        "pages/benchmarks.py",
        "Benchmarks",
        ":material/leaderboard:",
        "benchmarks",
        "Dashboards",
        MANAGERS,
    ),
    PageSpec(
        "pages/evolution.py",
        "Evolution",
        ":material/trending_up:",
        "evolution",
        "Dashboards",
        MANAGERS,
    ),
    PageSpec(
        "pages/zones.py",
        "World zones",
        ":material/public:",
        "zones",
        "Dashboards",
        MANAGERS,
        ("world", "region"),
    ),
    PageSpec(
        "pages/themes.py",
        "Comment themes",
        ":material/forum:",
        "themes",
        "Voice of the customer",
        MANAGERS,
    ),
    PageSpec(
        "pages/verbatims.py",
        "Verbatims",
        ":material/format_quote:",
        "verbatims",
        "Voice of the customer",
        MANAGERS,
    ),
    PageSpec(
        "pages/alerts.py",
        "Alerts",
        ":material/notifications_active:",
        "alerts",
        "Close the loop",
        MANAGERS,
    ),
    PageSpec(
        "pages/cases.py",
        "Complaint cases",
        ":material/support_agent:",
        "cases",
        "Close the loop",
        (*FRONT_LINE, *MANAGERS),
    ),
    PageSpec(
        "pages/case_dashboard.py",
        "Case management",
        ":material/monitoring:",
        "case-dashboard",
        "Close the loop",
        MANAGERS,
    ),
    PageSpec(
        "pages/rules.py",
        "Routing rules",
        ":material/alt_route:",
        "rules",
        "Close the loop",
        roles.DATA_ADMINS,
    ),
    PageSpec("pages/plans.py", "Action plans", ":material/task_alt:", "plans", "Improve", MANAGERS),
    PageSpec(
        "pages/meeting.py",
        "Review meeting",
        ":material/co_present:",
        "meeting",
        "Improve",
        MANAGERS,
    ),
    PageSpec(
        "pages/reports.py", "Reports", ":material/picture_as_pdf:", "reports", "Improve", MANAGERS
    ),
    PageSpec(
        "pages/fieldwork.py",
        "Fieldwork",
        ":material/mark_email_read:",
        "fieldwork",
        "Data",
        MANAGERS,
    ),
    PageSpec(
        "pages/import.py",
        "Import data",
        ":material/upload_file:",
        "import",
        "Data",
        roles.DATA_ADMINS,
    ),
)


# ---------------------------------------------------------------- data


def data_root() -> Path:
    return data.data_dir()


@st.cache_resource(show_spinner=False, max_entries=4)
def _scan(root: str, version: str) -> pl.LazyFrame:
    return data.scan_responses(Path(root))


def ensure_data() -> None:
    """Generate the demo dataset on first start when the data directory has no waves."""
    root = data_root()
    if data.has_waves(root):
        return
    with st.status(
        "First start: generating the demo dataset (8 waves, 200,000 responses)…", expanded=True
    ) as status:
        bar = st.progress(0.0)

        def progress(message: str, fraction: float) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=message)

        dataset.ensure_demo(root, progress=progress)
        progress("Opening demo complaint cases for Madrid and Paris…", 0.95)
        complaints.seed_demo_cases(engine(), data.scan_responses(root))
        status.update(label="Demo dataset ready.", state="complete", expanded=False)


def version() -> str:
    return data.data_version(data_root())


def responses() -> pl.LazyFrame:
    """The scanned responses (not yet scoped: pass them to a query with the user's scope)."""
    return _scan(str(data_root()), version())


@st.cache_resource(show_spinner=False, max_entries=4)
def _rollups(root: str, version: str) -> dict[str, pl.LazyFrame]:
    fine = rollup.build(_scan(root, version))
    return {"rollup_fine": fine.lazy(), "rollup": rollup.coarsen(fine).lazy()}


@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def _run(
    name: str,
    scope: Scope,
    filters: Filters,
    data_version: str,
    kwargs: tuple[tuple[str, Any], ...],
    source: str,
    _fn: Callable[..., Any],
) -> Any:
    """``_fn`` is left out of the cache key (leading underscore); ``name`` stands for it."""
    if source.startswith("rollup"):
        frame = _rollups(str(data_root()), data_version)[source]
    else:
        frame = _scan(str(data_root()), data_version)
    return _fn(frame, scope, filters, **dict(kwargs))


def overview_query(name: str, scope: Scope, filters: Filters, **kwargs: Any) -> Any:
    """Run an overview query of ``cx.analytics.overview`` on the cached rollup (same answers, far fewer rows);
    only the advisor breakdown needs the advisor-level rollup."""
    source = "rollup_fine" if kwargs.get("level") == "advisor_id" else "rollup"
    fn: Callable[..., Any] = getattr(overview, name)
    return _run(
        f"cx.analytics.overview:{name}",
        scope,
        filters,
        version(),
        tuple(sorted(kwargs.items())),
        source,
        fn,
    )


def query(fn: str | Callable[..., Any], scope: Scope, filters: Filters, **kwargs: Any) -> Any:
    """Run a query ``(LazyFrame, Scope, Filters, **kwargs)`` through the cache.

    ``fn`` is a function of any ``cx`` module, or the name of one in ``cx.analytics.overview``. The cache
    key holds the function's name, the scope, the filters, the data version and the kwargs
    (which must be hashable: strings, numbers, tuples).
    """
    query_fn: Callable[..., Any] = getattr(overview, fn) if isinstance(fn, str) else fn
    name = f"{query_fn.__module__}:{query_fn.__qualname__}"
    return _run(
        name, scope, filters, version(), tuple(sorted(kwargs.items())), "responses", query_fn
    )


@st.cache_data(ttl=CACHE_TTL, max_entries=64, show_spinner=False)
def waves(data_version: str) -> list[str]:
    return overview.waves(_scan(str(data_root()), data_version))


# ---------------------------------------------------------------- authentication


def cookie_key() -> str:
    """Cookie signing key: secrets.toml, else CX_COOKIE_KEY, else a generated, git-ignored file."""
    try:
        key = st.secrets.get("auth", {}).get("cookie_key")
    except Exception:  # no secrets.toml at all
        key = None
    key = key or os.environ.get("CX_COOKIE_KEY")
    if key:
        return str(key)
    if not COOKIE_KEY_FILE.exists():
        COOKIE_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(COOKIE_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return COOKIE_KEY_FILE.read_text().strip()


def _authenticator() -> Any:
    import streamlit_authenticator as stauth

    config = users.load_config()
    cookie = config.get("cookie", {})
    return stauth.Authenticate(
        copy.deepcopy(config["credentials"]),
        cookie.get("name", "cx_review_auth"),
        cookie_key(),
        float(cookie.get("expiry_days", 7)),
        auto_hash=False,
    )


def current_user() -> User | None:
    """The authenticated user (from session state), or None."""
    if st.session_state.get("authentication_status") is not True:
        return None
    return users.get(st.session_state.get("username"))


def login_gate() -> User:
    """Show the login form until a known user is authenticated; stop the script otherwise."""
    _leave_pages_directory_mode()
    auth = _authenticator()
    if current_user() is None:
        # Register every page (hidden) so a deep link such as /overview?wave=… is recognised and
        # kept while the user signs in; no page runs until the login succeeds. Without this,
        # Streamlit would fall back to running pages/*.py directly on a fresh server.
        st.navigation([_st_page(p) for p in PAGES], position="hidden")
        style()
        st.markdown("## CX Review")
        st.caption(
            "Customer-experience analytics for leadership reviews. Sign in to see your scope."
        )
        try:
            auth.login(
                location="main",
                fields={
                    "Form name": "Sign in",
                    "Username": "Username",
                    "Password": "Password",
                    "Login": "Sign in",
                },
            )
        except Exception as exc:  # the authenticator raises on malformed input
            st.error(f"Sign-in failed: {exc}")
        if st.session_state.get("authentication_status") is False:
            st.error("Username or password is incorrect.")
    user = current_user()
    if user is None:
        st.stop()
    with st.sidebar:
        st.markdown(f"**{user.name}**  \n{', '.join(user.roles)} · {user.scope or 'no scope'}")
        auth.logout("Log out", location="sidebar", key="cx_logout")
    return user  # type: ignore[return-value]


def _leave_pages_directory_mode() -> bool:
    """Switch a fresh server out of Streamlit's legacy ``pages/`` mode; True if it was in it.

    On a freshly started server, a deep link such as ``/overview`` runs ``pages/overview.py``
    directly (Streamlit's v1 multipage mode) instead of ``app.py``, skipping the login form and
    the navigation. We turn that mode off so every later run goes through ``app.py``.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - layout of a future Streamlit
        return False
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        return True
    return False


def require_user(*roles: str) -> User:
    """Every page starts here: refuse to render without an authenticated (and allowed) user."""
    user = current_user()
    if user is None:
        if _leave_pages_directory_mode():
            st.rerun()  # run again through app.py, which shows the sign-in form on this URL
        st.warning("Please sign in from the home page to see this screen.")
        st.stop()
    if roles and not user.has(*roles):  # type: ignore[union-attr]
        st.error("Your role does not give access to this screen.")
        st.stop()
    return user  # type: ignore[return-value]


def scope() -> Scope:
    user = current_user()
    return user.scope if user else Scope()


def allowed(page: PageSpec, user: User) -> bool:
    if page.roles is not None and not user.has(*page.roles):
        return False
    return page.scope_levels is None or (user.scope.top_level in page.scope_levels)


def navigation(user: User) -> Any:
    """``st.navigation`` of the pages this user's roles and scope allow, grouped by section."""
    sections: dict[str, list[Any]] = {}
    for page in PAGES:
        if allowed(page, user):
            sections.setdefault(page.section, []).append(_st_page(page))
    return st.navigation(sections)


def _st_page(page: PageSpec) -> Any:
    return st.Page(
        page.path,
        title=page.title,
        icon=page.icon,
        url_path=page.url_path,
        default=page.url_path == "overview",
    )


# ---------------------------------------------------------------- filters


def sidebar_filters(user: User) -> Filters:
    """The shared filters, in the sidebar and bound to the URL (a pasted link reopens the view)."""
    all_waves = waves(version())
    options = overview_query("filter_options", user.scope, Filters())
    with st.sidebar:
        st.markdown("### Filters")
        st.selectbox("Wave", list(reversed(all_waves)), key="wave", bind="query-params")
        if "channel" in options:
            st.multiselect(
                "Channel",
                options["channel"],
                key="channel",
                bind="query-params",
                placeholder="All channels",
            )
        if "touchpoint" in options:
            st.multiselect(
                "Touchpoint",
                options["touchpoint"],
                key="touchpoint",
                bind="query-params",
                placeholder="All touchpoints",
            )
        if "segment" in options:
            st.multiselect(
                "Segment",
                options["segment"],
                key="segment",
                bind="query-params",
                placeholder="All segments",
            )
    return filters()


def filters() -> Filters:
    """The current shared filters from session state (set by the sidebar widgets)."""
    ss = st.session_state
    return Filters(
        wave=ss.get("wave") or next(reversed(waves(version())), None),
        channels=tuple(sorted(ss.get("channel") or ())),
        touchpoints=tuple(sorted(ss.get("touchpoint") or ())),
        segments=tuple(sorted(ss.get("segment") or ())),
    )


def filter_summary(f: Filters) -> str:
    parts = [f"Wave {f.wave}"]
    for label, values in (
        ("channel", f.channels),
        ("touchpoint", f.touchpoints),
        ("segment", f.segments),
    ):
        if values:
            parts.append(f"{label}: {', '.join(values)}")
    return " · ".join(parts)


# ---------------------------------------------------------------- the URL


def url_param(name: str, default: str = "") -> str:
    """One query parameter of the page's URL (links from other screens and pasted links carry them)."""
    return st.query_params.get(name, default)


def url_pick(param: str, choices: Collection[int], key: str, default: int | None = None) -> Any:
    """Give the widget ``key`` the number in ``?<param>=`` before it is drawn, when it is one of
    ``choices``: the URL is the source of truth, so a pasted link opens that item. Otherwise the
    widget gets ``default``, or keeps its own value when there is no default. Returns the value."""
    asked = st.query_params.get(param, "")
    fallback = st.session_state.get(key) if default is None else default
    st.session_state[key] = int(asked) if asked.isdigit() and int(asked) in choices else fallback
    return st.session_state[key]


def set_url(drop: Iterable[str] = (), **params: object) -> None:
    """Write ``params`` to the URL (also as a button callback) and remove the ``drop`` ones."""
    for name in drop:
        st.query_params.pop(name, None)
    st.query_params.update({name: str(value) for name, value in params.items()})


def url_follows(param: str, key: str) -> Callable[[], None]:
    """A widget callback that writes the widget ``key``'s new value to ``?<param>=``."""
    return lambda: set_url(**{param: st.session_state[key] or ""})


def url_select(
    label: str,
    options: Sequence[int],
    *,
    param: str,
    key: str,
    format_func: Callable[[int], str],
    placeholder: str,
) -> int | None:
    """A selectbox of numbered items that follows ``?<param>=<number>`` (a pasted link opens that
    item) and writes the user's pick back to the URL."""
    url_pick(param, options, key)
    picked: int | None = st.selectbox(
        label,
        options,
        key=key,
        format_func=format_func,
        placeholder=placeholder,
        on_change=url_follows(param, key),
    )
    return picked


# ---------------------------------------------------------------- actions


def flash(slot: str = "page") -> None:
    """Show, once, the messages the previous run's action kept for ``slot`` (see :func:`act`)."""
    for kind, text in st.session_state.pop(f"flash:{slot}", []):
        getattr(st, kind)(text)


def keep_flash(text: str, kind: str = "success", slot: str = "page") -> None:
    """Keep a message (``success``, ``error``, ``warning``, ``info``) for the next ``flash(slot)``."""
    st.session_state.setdefault(f"flash:{slot}", []).append((kind, text))


def seen_version(key: str, current: int) -> int:
    """The version of a record the user's screen was drawn from, kept across reruns until a save
    (``act(seen=key)``), so a save made on a stale screen is refused instead of overwriting."""
    return int(st.session_state.setdefault(f"seen:{key}", current))


def act(
    write: Callable[[Session], T],
    done: str | Callable[[T], str] | None = None,
    *,
    refused: tuple[type[Exception], ...] = (),
    failed: str = "{exc}",
    stale: str | None = None,
    seen: str | None = None,
    then: Callable[[T], object] | None = None,
    slot: str = "page",
    rerun: bool = True,
) -> None:
    """Run one write in its own store session, keep the outcome for :func:`flash` and rerun, so
    the screen is redrawn from the store with the message on it.

    ``done`` is the success message (or makes it from the result). ``store.StaleEdit`` (someone saved
    first) and the ``refused`` domain errors become the ``stale`` / ``failed`` message, ``{exc}``
    standing for the error. ``seen`` names a :func:`seen_version` to forget after a save or a stale
    refusal (the next run shows the latest version); ``then`` runs after a success, e.g. to put the
    new record in the URL. In a widget callback pass ``rerun=False``: Streamlit reruns anyway.
    """
    try:
        with store.session(engine()) as s:
            result = write(s)
    except store.StaleEdit as exc:
        keep_flash((stale or failed).format(exc=exc), "error", slot)
        st.session_state.pop(f"seen:{seen}", None)
    except refused as exc:
        keep_flash(failed.format(exc=exc), "error", slot)
    else:
        st.session_state.pop(f"seen:{seen}", None)
        if done is not None:
            keep_flash(done if isinstance(done, str) else done(result), slot=slot)
        if then is not None:
            then(result)
    if rerun:
        st.rerun()


# ---------------------------------------------------------------- components

_CSS = """
<style>
[data-testid="stMetricValue"] { font-size: 3.1rem; font-weight: 700; line-height: 1.1; }
[data-testid="stMetricLabel"] p { font-size: 1.05rem; font-weight: 600; color: #4b5563; }
[data-testid="stMetricDelta"] { font-size: 1.05rem; }
[data-testid="stTable"] table { font-size: 1.05rem; }
[data-testid="stTable"] th { font-weight: 700; }
h1 { font-size: 2.4rem !important; }
.cx-takeaway { font-size: 1.35rem; font-weight: 500; padding: .7rem 1rem; border-left: 6px solid #2f5fd0;
  background: #f3f6fd; border-radius: 4px; margin: .2rem 0 1rem 0; color: #1f2a44; }
.cx-note { color: #6b7280; font-size: .95rem; }
</style>
"""


def style() -> None:
    st.html(_CSS)


def header(title: str, user: User, f: Filters | None = None) -> None:
    style()
    st.title(title)
    where = str(user.scope) if user.scope.entries else "no scope"
    st.caption(f"Scope: {where}" + (f" · {filter_summary(f)}" if f else ""))


def takeaway(text: str) -> None:
    """The one-sentence takeaway on top of a screen (plain text: escaped, never evaluated)."""

    st.html(f'<div class="cx-takeaway">{text_mod.escape_html(text)}</div>')


def fmt_points(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def kpi_row(headline: pl.DataFrame) -> None:
    """The big figures: NPS ± MoE, change vs the compared wave, base, CSAT."""
    row = headline.row(0, named=True)
    c1, c2, c3, c4 = st.columns(4)
    if row["suppressed"]:
        c1.metric("NPS", "hidden", help="Fewer than 5 responses: no score is shown.")
    else:
        c1.metric(
            "NPS",
            fmt_points(row["nps"]),
            f"± {row['nps_moe']:.1f} (95 % margin)",
            delta_color="off",
            delta_arrow="off",
        )
    if row["change"] is None:
        c2.metric(
            "Change",
            "–",
            "no earlier wave" if not row["prev_wave"] else f"vs {row['prev_wave']}",
            delta_color="off",
            delta_arrow="off",
        )
    else:
        mark = "significant" if row["significant"] else "not significant"
        c2.metric(
            f"Change vs {row['prev_wave']}",
            fmt_points(row["change"], signed=True),
            mark,
            delta_color="normal" if row["significant"] else "off",
            delta_arrow="up" if row["change"] > 0 else "down",
        )
    c3.metric(
        "Responses (n)",
        f"{row['n']:,}",
        "low base (n < 30)" if row["low_base"] else None,
        delta_color="off",
        delta_arrow="off",
    )
    c4.metric("CSAT (top-2-box)", "–" if row["csat"] is None else f"{row['csat']:.0f} %")


def base_note(headline: pl.DataFrame) -> None:
    row = headline.row(0, named=True)
    if row["suppressed"]:
        return
    st.html(
        f'<div class="cx-note">{row["promoters"]:,} promoters · {row["passives"]:,} passives · '
        f"{row['detractors']:,} detractors (shares are weighted; effective base {row['effective_base']:,.0f})</div>"
    )


@dataclass(frozen=True)
class Figure:
    """One big number: its label, its value and a small line under it (red when ``alarm``)."""

    label: str
    value: str
    note: str | None = None
    alarm: bool = False


def figure(item: Figure | meeting.Figure, where: Any = st) -> None:
    """One big number, on the page or in ``where`` (a column)."""
    alarm = isinstance(item, Figure) and item.alarm
    where.metric(
        item.label,
        item.value,
        item.note,
        delta_color="inverse" if alarm else "off",
        delta_arrow="off",
    )


def figures(items: Sequence[Figure | meeting.Figure | None]) -> None:
    """A row of big numbers, one column each (None leaves its column empty)."""
    for col, item in zip(st.columns(len(items)), items, strict=True):
        if item is not None:
            figure(item, col)


def benchmark_figures(nps: dict[str, Any], own: str, parent: str | None) -> None:
    """NPS of the scope, of its parent and of the world, with the gaps and whether they are
    significant (the NPS row of ``cx.analytics.benchmarks.attribute_benchmark``)."""

    def gap(to: str) -> str:
        verdict = "significant" if nps[f"significant_{to}"] else "not significant"
        return f"{fmt_points(nps[f'diff_{to}'], True)} · {verdict}"

    figures(
        [
            Figure(f"NPS {own}", fmt_points(nps["own_mean"]), f"n = {nps['own_n']:,}"),
            Figure(f"NPS {parent}", fmt_points(nps["parent_mean"]), gap("parent"))
            if parent
            else None,
            Figure("NPS World", fmt_points(nps["world_mean"]), gap("world")),
        ]
    )


def fieldwork_figures(row: dict[str, Any]) -> None:
    """Response rate, delivery rate, responses against target and the lagging agencies (in red)
    of a wave's fieldwork (the row of ``cx.analytics.fieldwork.summary``)."""
    figures(
        [
            Figure(
                "Response rate",
                f"{100 * (row['response_rate'] or 0):.1f} %",
                f"{row['responses']:,} responses",
            ),
            Figure(
                "Delivery rate",
                f"{100 * (row['delivery_rate'] or 0):.1f} %",
                f"{row['invitations']:,} invitations sent",
            ),
            Figure(
                "Responses vs target",
                f"{100 * (row['attainment'] or 0):.0f} %",
                f"target {row['target_responses']:,}",
            ),
            Figure(
                "Lagging agencies",
                f"{row['lagging']}",
                ", ".join(row["lagging_agencies"][:3]) or "none",
                alarm=bool(row["lagging"]),
            ),
        ]
    )


def _one_decimal(column: str, *, signed: bool = False, prefix: str = "") -> pl.Expr:
    value = pl.col(column).round(1)
    text = pl.lit(prefix) + value.abs().cast(pl.String) if prefix else value.cast(pl.String)
    if signed:
        text = (
            pl.when(value > 0)
            .then(pl.lit("+") + value.cast(pl.String))
            .otherwise(value.cast(pl.String))
        )
    return pl.when(pl.col(column).is_null()).then(pl.lit("–")).otherwise(text)


def breakdown_table(df: pl.DataFrame, level: str) -> None:
    """Ranked table (a real HTML table, readable on a projector): rank, entity, n, NPS ± MoE,
    change and a note; low bases flagged and unranked, tiny cells hidden."""
    label = labels.LEVEL_LABELS.get(level, level)
    view = df.select(
        pl.col("rank").cast(pl.String).fill_null("–").alias("#"),
        pl.col(level).alias(label),
        pl.col("n"),
        _one_decimal("nps").alias("NPS"),
        _one_decimal("nps_moe", prefix="± ").alias("MoE (95 %)"),
        _one_decimal("change", signed=True).alias("Δ vs prev."),
        pl.when(pl.col("suppressed"))
        .then(pl.lit("hidden (n < 5)"))
        .when(pl.col("low_base"))
        .then(pl.lit("low base"))
        .when(pl.col("significant") & (pl.col("change") > 0))
        .then(pl.lit("▲ significant"))
        .when(pl.col("significant") & (pl.col("change") < 0))
        .then(pl.lit("▼ significant"))
        .otherwise(pl.lit(""))
        .alias("Note"),
    )
    st.table(view, hide_index=True)


# ---------------------------------------------------------------- operational store


@st.cache_resource(show_spinner=False, max_entries=4)
def _engine(url: str) -> Any:
    return store.init(store.make_engine(url))


def engine() -> Any:
    """The operational store's engine (``DATABASE_URL`` or ``<data>/cx.db``), created once per URL."""
    return _engine(store.database_url(data_root()))


@st.cache_resource(show_spinner=False, max_entries=4)
def _outbox_sender(url: str) -> Any:
    settings = notify.NotifySettings.from_env(data_root())
    if not settings.smtp_host and not settings.telegram_token:
        return None
    return notify.start_background_sender(
        _engine(url), settings, interval=float(os.environ.get("CX_NOTIFY_INTERVAL", "30"))
    )


def start_outbox_sender() -> None:
    """Start the outbox loop once per process (a daemon thread) when SMTP or Telegram is configured."""
    _outbox_sender(store.database_url(data_root()))


# ---------------------------------------------------------------- review meeting

_SLIDE_CSS = """<style>
.cx-slide-kicker { color: #6b7280; font-size: 1.05rem; letter-spacing: .02em; }
h1 { font-size: 3.2rem !important; }
.cx-takeaway { font-size: 1.8rem !important; line-height: 1.35; }
[data-testid="stMetricValue"] { font-size: 4rem !important; }
[data-testid="stMetricLabel"] p { font-size: 1.3rem !important; }
[data-testid="stTable"] th, [data-testid="stTable"] td { font-size: 1.35rem !important; padding: .55rem .8rem !important; }
</style>"""
_PRESENT_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stSidebarNav"],
[data-testid="stHeader"], [data-testid="stToolbar"] { display: none !important; }
.block-container, [data-testid="stMainBlockContainer"] { padding-top: 1.2rem !important; max-width: 100% !important; }
</style>"""


def slide_style(present: bool) -> None:
    """Large type for a meeting screen; in presentation mode the sidebar and toolbar are hidden too."""
    style()
    st.html(_SLIDE_CSS + (_PRESENT_CSS if present else ""))


def kicker(text: str) -> None:
    """The small grey line above a slide's title (plain text: escaped)."""
    st.html(f'<div class="cx-slide-kicker">{text_mod.escape_html(text)}</div>')


def slide(shown: meeting.Slide) -> None:
    """A meeting slide (``cx.improve.meeting.Slide``): title, takeaway, big figures, a chart or a table."""
    st.title(shown.title)
    if shown.takeaway:
        takeaway(shown.takeaway)
    if shown.figures:
        figures(shown.figures)
    if shown.chart is not None:  # any top-level Altair chart (Slide.chart is typed as their base)
        st.altair_chart(shown.chart, width="stretch")  # type: ignore[call-overload]
    if shown.table is not None:
        st.table(shown.table, border="horizontal", hide_index=True)


def stepper(step: int, count: int, *, param: str = "step", key: str = "step_pick") -> None:
    """Previous · page numbers · Next, also on the ← / → keys; each writes the step to ``?<param>=``
    (read back with :func:`url_pick`), so a pasted link opens the same screen."""
    nav = st.columns([1, 4, 1], vertical_alignment="center")
    nav[0].button(
        "Previous",
        on_click=set_url,
        kwargs={param: step - 1},
        shortcut="Left",
        disabled=step <= 1,
        width="stretch",
    )
    with nav[1], st.container(horizontal_alignment="center"):
        st.pagination(
            count,
            key=key,
            max_visible_pages=12,
            width="stretch",
            on_change=url_follows(param, key),
        )
    nav[2].button(
        "Next",
        on_click=set_url,
        kwargs={param: step + 1},
        shortcut="Right",
        disabled=step >= count,
        width="stretch",
        type="primary",
    )


# ---------------------------------------------------------------- voice of the customer

CARD_CSS = """<style>
.cx-vb { border-left: 5px solid #9db4ec; padding: .55rem .9rem; margin: 0 0 .7rem 0; background: #fafbfe; border-radius: 4px; }
.cx-vb.detractor { border-left-color: #d73027; } .cx-vb.promoter { border-left-color: #1a9850; } .cx-vb.passive { border-left-color: #f2b134; }
.cx-vb-meta { color: #6b7280; font-size: .95rem; margin-bottom: .2rem; }
.cx-vb-text { font-size: 1.2rem; color: #1f2a44; line-height: 1.45; }
.cx-vb-text mark { background: #ffe58a; padding: 0 .15rem; border-radius: 3px; }
</style>"""


def verbatim_html(df: pl.DataFrame) -> str:
    """HTML cards of verbatims (every field escaped; the comment comes pre-escaped and marked)."""
    if df.is_empty():
        return ""

    def esc(c: str) -> pl.Expr:
        return text_mod.escape_html_expr(pl.col(c).cast(pl.String).fill_null("–"))

    cards = df.select(
        pl.format(
            '<div class="cx-vb {}"><div class="cx-vb-meta">{} · {} · NPS {} ({}) · {} · sentiment {}</div>'
            '<div class="cx-vb-text">{}</div></div>',
            esc("score_band"),
            esc("agency"),
            esc("wave"),
            esc("nps"),
            esc("score_band"),
            pl.when(pl.col("themes").list.len() > 0)
            .then(
                text_mod.escape_html_expr(
                    pl.col("themes").list.join(", ").str.replace_all("_", " ")
                )
            )
            .otherwise(pl.lit("no theme")),
            pl.col("sentiment").round(2).cast(pl.String).fill_null("–"),
            pl.col("comment_html"),
        ).alias("card")
    )["card"].str.join("")
    return CARD_CSS + str(cards[0])


def verbatim_cards(df: pl.DataFrame) -> None:
    """Verbatims as cards, newest first: agency, wave, score, themes and sentiment above each comment."""
    if not df.is_empty():
        st.html(verbatim_html(df))


# ---------------------------------------------------------------- alerts


def alert_card(
    i: int, alert: dict[str, Any], plan_options: Sequence[str]
) -> tuple[str, str | None] | None:
    """One alert (``cx.loop.alerts.cards``): what went wrong, its sparkline and the buttons that
    acknowledge, dismiss, reopen or link it; the (status, action_ref) asked for, once clicked."""
    asked: tuple[str, str | None] | None = None
    with st.container(border=True):
        text, chart, buttons = st.columns([5, 3, 3], gap="medium")
        with text:
            level = "Agency" if alert["level"] == "agency" else "Country"
            st.markdown(f"#### {alert['label']} · {alert['entity']}")
            st.caption(
                f"{level} · score {alert['score']:.1f} · n = {alert['n']:,} · {', '.join(alert['reasons'])} · status: **{alert['status']}**"
                + (f" · linked to {alert['action_ref']}" if alert["action_ref"] else "")
            )
            st.text(alert["sentence"])
        with chart:
            st.altair_chart(charts.sparkline_chart(alerts.sparkline_frame(alert)), width="stretch")
        with buttons:
            b1, b2 = st.columns(2)
            status = alert["status"]
            if status != "acknowledged" and b1.button(
                "Acknowledge", key=f"ack{i}", width="stretch"
            ):
                asked = ("acknowledged", None)
            if status != "dismissed" and b2.button("Dismiss", key=f"dis{i}", width="stretch"):
                asked = ("dismissed", None)
            if status != "open" and b1.button("Reopen", key=f"re{i}", width="stretch"):
                asked = ("open", None)
            plan = (
                st.selectbox(
                    "Link to an action plan",
                    plan_options,
                    index=None,
                    key=f"plan{i}",
                    placeholder="Plan…",
                )
                if plan_options
                else None
            )
            free = st.text_input(
                "or a reference", key=f"ref{i}", max_chars=200, placeholder="e.g. ticket CX-123"
            )
            if st.button(
                "Link", key=f"link{i}", width="stretch", disabled=not (plan or free.strip())
            ):
                asked = alerts.link_request(alert, plan, free)
    return asked


# ---------------------------------------------------------------- routing rules


def rule_matches(counts: dict[str, int], preview: pl.DataFrame, wave: str | None) -> None:
    """How many responses of the wave a condition matches, and the first of them."""
    figure(
        Figure(f"Matching responses at {wave}", f"{counts['matched']:,}", f"of {counts['total']:,}")
    )
    st.dataframe(preview, hide_index=True, width="stretch")


def rule_form(contact_roles: Sequence[str], action_types: Iterable[str]) -> dict[str, Any] | None:
    """The "save the condition as a rule" form: the rule's name, scope and actions (an
    ``email_contact`` action e-mails the chosen contact role) once submitted; a refusal is
    flashed in the form (slot ``save_rule``)."""
    with st.form("save_rule"):
        st.markdown("#### Save the condition as a rule")
        name = st.text_input("Name", max_chars=120)
        scope = st.text_input(
            "Applies to (scope)",
            value="world",
            help="world, region:<name>, country:<code> or agency:<name>",
        )
        kinds = st.multiselect("Actions", list(action_types), default=["email_contact"])
        role = st.selectbox("Contact role to e-mail (email_contact)", contact_roles)
        submitted = st.form_submit_button("Save rule", type="primary")
        flash("save_rule")
    if not submitted:
        return None
    actions = [{"type": k, **({"role": role} if k == "email_contact" else {})} for k in kinds]
    return {"name": name, "scope": scope, "actions": actions}


# ---------------------------------------------------------------- importing data


def wave_import_options(next_wave: str) -> tuple[str, str, str, str]:
    """The wave to write (``next_wave`` proposed), the survey whose mapping to reuse, what to do if
    the wave exists and the attribute scale of the file."""
    c1, c2, c3, c4 = st.columns(4)
    wave = c1.text_input(
        "Wave", value=next_wave, key="import_wave", help="2026-Q4, 2026-10 or 2026-W42"
    )
    survey = c2.text_input("Survey (its mapping is saved for the next wave)", key="import_survey")
    mode = c3.selectbox(
        "If the wave exists",
        ingest.MODES,
        format_func=lambda m: ingest.MODE_LABELS.get(m, m),
        key="import_mode",
    )
    scale = c4.selectbox(
        "Attribute scale in the file",
        list(mapping.SCALES),
        key="import_scale",
        help="Rescaled to 0–10: y = (x − min) × 10 / (max − min)",
    )
    return wave, survey, str(mode), str(scale)


def mapping_editor(frame: pl.DataFrame, chosen: mapping.Mapping, *, key: str) -> Any:
    """The column mapping as an editable table: each source column, an example and what it maps to."""
    st.markdown("#### Column mapping")
    return st.data_editor(
        mapping.editor_rows(frame, chosen),
        hide_index=True,
        width="stretch",
        key=key,
        disabled=["source", "example"],
        column_config={
            "maps to": st.column_config.SelectboxColumn(options=mapping.targets(frame.columns))
        },
    )


def validation_report(report: ingest.ImportResult, wave: str) -> None:
    """What a dry run of the import found: rows accepted, quarantined and flagged, the first
    quarantined rows and a preview of the mapped columns."""
    st.markdown("#### Validation report")
    flags = ", ".join(f"{k} {v}" for k, v in report.flags.items()) or None
    figures(
        [
            Figure("Rows in the file", f"{report.input_rows:,}"),
            Figure("Accepted", f"{report.accepted:,}"),
            Figure("Quarantined", f"{report.quarantined:,}"),
            Figure("Flagged excluded", f"{report.excluded:,}", flags),
        ]
    )
    if report.status == "unchanged":
        st.info(f"This exact file is already in wave {wave}: importing it again changes nothing.")
    if report.quarantined:
        st.markdown("First quarantined rows (the full list is written to the quarantine file):")
        st.dataframe(report.bad_rows, hide_index=True, width="stretch")
    st.markdown("Preview of the mapped columns (first rows as they will be stored):")
    st.dataframe(report.preview, hide_index=True, width="stretch")


def progress_bar(text: str) -> Callable[[str, float], None]:
    """A progress bar showing ``text``; call the returned function with a message and a fraction."""
    bar = st.progress(0.0, text=text)

    def advance(message: str, fraction: float) -> None:
        bar.progress(fraction, text=message)

    return advance


def import_result(message: str, rows: list[dict[str, Any]]) -> None:
    """What an import wrote: one sentence, then one row per outcome (file written, quarantine reasons)."""
    st.success(message)
    st.dataframe(rows, hide_index=True, width="stretch")


# ---------------------------------------------------------------- action plans

_PLAN_COLUMNS = {
    "Progress": st.column_config.ProgressColumn(
        "Progress", min_value=0, max_value=100, format="%d %%"
    ),
    "Due": st.column_config.DateColumn("Due", format="YYYY-MM-DD"),
}


def plan_proposal(draft: plans.Draft, where: Sequence[str], owner: str) -> dict[str, Any] | None:
    """The "propose an action plan" form, open when a link named the problem; the fields of
    :func:`cx.improve.plans.propose` once submitted (a refusal is flashed in the form: slot ``new_plan``)."""
    with (
        st.expander(text_mod.escape_markdown(draft.heading), expanded=draft.linked),
        st.form("new_plan", clear_on_submit=True),
    ):
        form: dict[str, Any] = {"title": st.text_input("Title", value=draft.title)}
        c1, c2, c3 = st.columns(3)
        form["where"] = c1.selectbox("Scope of the plan", where)
        form["owner"] = c2.text_input("Owner (username or e-mail)", value=owner)
        form["due_date"] = c3.date_input("Due date", value=None, min_value=date(2020, 1, 1))
        c1, c2, c3, c4 = st.columns(4)
        form["problem_kind"] = c1.selectbox(
            "Problem", plans.PROBLEM_KINDS, index=draft.kind_index, format_func=plans.kind_label
        )
        form["problem_ref"] = c2.text_input(
            "Problem reference", value=draft.ref, help="attr_<id>, a theme id or an alert key"
        )
        form["target_attribute"] = c3.selectbox(
            "Target metric", draft.metrics, index=draft.metric_index, format_func=plans.metric_label
        )
        form["target_value"] = c4.number_input("Target value (≥)", value=None, step=0.1)
        form["contributors"] = st.text_input("Contributors (comma-separated)")
        submitted = st.form_submit_button("Propose the plan", type="primary")
        flash("new_plan")
    return form if submitted else None


def plan_tracker(tracker: pl.DataFrame) -> None:
    """The plans of the scope: open / late / done per owner and per problem, then the full table."""
    left, right = st.columns(2, gap="large")
    for col, by, label in ((left, "owner", "Owner"), (right, "problem", "Problem")):
        with col:
            st.markdown(f"#### Plans by {label.lower()}")
            st.altair_chart(
                charts.tracker_chart(plans.tracker_counts(tracker, by), by, label), width="stretch"
            )
    st.markdown("#### All plans")
    st.dataframe(
        plans.tracker_view(tracker), hide_index=True, width="stretch", column_config=_PLAN_COLUMNS
    )


def plan_heading(plan: Plan) -> None:
    """The plan's title, status line and the problem it addresses, with a link to the evidence."""
    st.subheader(f"#{plan.id} {text_mod.escape_markdown(plan.title)}")
    st.caption(plans.summary_line(plan))
    problem = text_mod.escape_markdown(plans.problem_label(plan.problem_kind, plan.problem_ref))
    st.markdown(f"Problem: **{problem}** — [show the evidence]({plans.evidence_link(plan)})")


def approve_or_reject() -> bool | None:
    """The Approve / Reject buttons of a proposed plan: True, False, or None until one is clicked."""
    a, r, _ = st.columns([1, 1, 4])
    if a.button("Approve", type="primary"):
        return True
    return False if r.button("Reject") else None


def plan_effect(plan: Plan, effect: pl.DataFrame) -> None:
    """Did it work: one sentence and the target metric before and after the plan started."""
    takeaway(plans.effect_sentence(plan, effect))
    label = plans.metric_label(plan.target_attribute or "nps")
    st.altair_chart(charts.plan_effect_chart(effect, label), width="stretch")


def plan_edit_form(plan: Plan) -> dict[str, Any] | None:
    """Status, progress, owner and due date of a plan; the edited fields once saved."""
    with st.form(f"edit_{plan.id}"):
        c1, c2, c3, c4 = st.columns(4)
        edits = {
            "status": c1.selectbox(
                "Status",
                plans.STATUSES,
                index=plans.STATUSES.index(plan.status),
                format_func=plans.status_label,
            ),
            "progress": c2.slider("Progress %", 0, 100, plan.progress),
            "owner": c3.text_input("Owner", plan.owner),
            "due_date": c4.date_input("Due date", plan.due_date),
        }
        return edits if st.form_submit_button("Save changes") else None


def plan_tasks(
    plan: Plan, tasks: Sequence[PlanTask], owner: str
) -> tuple[PlanTask | None, dict[str, Any] | None]:
    """The plan's tasks as checkboxes and a form to add one: the task whose box was just changed
    and the new task's fields, once added."""
    st.markdown("#### Tasks")
    ticked = None
    for t in tasks:
        if st.checkbox(plans.task_label(t), value=t.done, key=f"task_{t.id}_{t.version}") != t.done:
            ticked = t
    with st.form(f"task_{plan.id}", clear_on_submit=True):
        c1, c2, c3, c4 = st.columns([3, 2, 2, 1], vertical_alignment="bottom")
        task = {
            "title": c1.text_input("New task"),
            "owner": c2.text_input("Task owner", owner),
            "due_date": c3.date_input("Task due", value=None),
        }
        added = c4.form_submit_button("Add")
    return ticked, task if added else None


def plan_comments(plan: Plan, comments: Sequence[PlanComment]) -> str | None:
    """The plan's comments, oldest first, and a form to add one: its text once sent."""
    st.markdown("#### Comments")
    for c in comments:
        st.caption(f"{c.author} · {c.at:%Y-%m-%d %H:%M} UTC")
        st.text(c.text)
    with st.form(f"comment_{plan.id}", clear_on_submit=True):
        text = st.text_area("Add a comment", height=80)
        return text if st.form_submit_button("Comment") else None


# ---------------------------------------------------------------- complaint cases

_WORKLIST_COLUMNS = {
    "Opened": st.column_config.DatetimeColumn(format="D MMM, HH:mm"),
    "First contact due": st.column_config.DatetimeColumn(format="D MMM, HH:mm"),
    "Late": st.column_config.CheckboxColumn("Late (SLA)"),
}


def case_worklist(table: pl.DataFrame) -> None:
    """The work list (``cx.loop.cases.worklist_frame``), most urgent first, at most ~8 rows high."""
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=min(38 * (table.height + 1) + 4, 320),
        column_config=_WORKLIST_COLUMNS,
    )


def case_history(events: pl.DataFrame) -> None:
    """What happened to a case, oldest first (``cx.loop.cases.events_frame``)."""
    st.markdown("#### History")
    st.dataframe(
        events,
        hide_index=True,
        width="stretch",
        column_config={"When": st.column_config.DatetimeColumn(format="D MMM, HH:mm")},
    )


def _case_submit(
    apply: Callable[..., None], fn: Callable[..., Any], done: str, fields: dict[str, str]
) -> None:
    """Form callback: the form's widget values (by key) go to ``apply(fn, done, **values)``."""
    values: dict[str, Any] = {name: st.session_state.get(key) for name, key in fields.items()}
    if "due_at" in values:  # the callback's day and time (UTC) make one moment
        values["due_at"] = datetime.combine(
            values.pop("due_at"), st.session_state["cb_time"], tzinfo=UTC
        )
    apply(fn, done, **values)


def case_actions(case: Case, forward_to: Sequence[str], apply: Callable[..., None]) -> None:
    """The tabs that take a case from new to closed. Each form's submit callback calls
    ``apply(fn, done, **fields)``: ``fn`` the :mod:`cx.loop.cases` action, ``done`` its past tense."""

    def submit(where: Any, label: str, fn: Callable[..., Any], done: str, **fields: str) -> None:
        kind = "primary" if label in ("Log call", "Close case") else "secondary"
        where.form_submit_button(
            label, type=kind, on_click=_case_submit, args=(apply, fn, done, fields)
        )

    call, callback, classify, solution, forward, finish = st.tabs(
        ["Call", "Callback", "Classify", "Solution", "Forward", "Resolve & close"]
    )
    with call, st.form("f_call", clear_on_submit=True):
        st.radio(
            "Outcome",
            cases.OUTCOMES,
            key="call_outcome",
            horizontal=True,
            format_func=lambda o: o.replace("_", " "),
        )
        st.text_input("Note", key="call_note")
        submit(
            st, "Log call", cases.log_call, "call logged", outcome="call_outcome", note="call_note"
        )
    with callback, st.form("f_callback", clear_on_submit=True):
        st.date_input("Day", value=datetime.now(UTC).date() + timedelta(days=1), key="cb_day")
        st.time_input(
            "Time (UTC)", value=datetime.now(UTC).replace(hour=10, minute=0).time(), key="cb_time"
        )
        st.text_input("Note", key="cb_note")
        submit(
            st,
            "Schedule callback",
            cases.schedule_callback,
            "callback scheduled",
            due_at="cb_day",
            note="cb_note",
        )
    with classify, st.form("f_classify"):
        st.selectbox(
            "Importance",
            cases.IMPORTANCES,
            index=cases.IMPORTANCES.index(case.importance),
            key="cl_importance",
        )
        st.selectbox(
            "Topic",
            cases.TOPICS,
            index=cases.TOPICS.index(case.topic) if case.topic in cases.TOPICS else None,
            key="cl_topic",
            format_func=lambda t: t.replace("_", " "),
        )
        submit(
            st,
            "Save classification",
            cases.classify,
            "classified",
            importance="cl_importance",
            topic="cl_topic",
        )
    with solution, st.form("f_solution", clear_on_submit=True):
        st.text_area("What was done for the customer", value=case.solution or "", key="sol_text")
        submit(
            st, "Record solution", cases.record_solution, "solution recorded", solution="sol_text"
        )
    with forward, st.form("f_forward"):
        st.selectbox("Forward to", forward_to, key="fw_to")
        st.text_input("Note", key="fw_note")
        submit(st, "Forward", cases.forward, "forwarded", to="fw_to", note="fw_note")
    with finish, st.form("f_finish", clear_on_submit=True):
        st.text_input("Note", key="fin_note")
        c1, c2 = st.columns(2)
        submit(c1, "Resolve", cases.resolve, "resolved", note="fin_note")
        submit(c2, "Close case", cases.close, "closed", note="fin_note")
