"""The only module of ``cx`` that imports Streamlit: cached data, the logged-in user and
scope, shared filters, navigation by role and small display components.
"""

from __future__ import annotations

import copy
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from cx import store
from cx.analytics import overview, rollup
from cx.core import data, labels, roles, users
from cx.core import text as text_mod
from cx.core.filters import Filters
from cx.core.scope import Scope
from cx.core.users import User
from cx.demo import complaints, dataset
from cx.loop import notify

COOKIE_KEY_FILE = Path(".streamlit/.cookie_key")
FILTER_KEYS = ("wave", "channel", "touchpoint", "segment")
CACHE_TTL = 3600
CACHE_ENTRIES = 512


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
    if isinstance(fn, str):
        fn = getattr(overview, fn)
    name = f"{fn.__module__}:{fn.__qualname__}"
    return _run(name, scope, filters, version(), tuple(sorted(kwargs.items())), "responses", fn)


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
