"""Display components shared by the screens: the CSS, the header and takeaway, big figures
(the benchmark and fieldwork rows among them), tables with their CSV and XLSX downloads (the
fieldwork ones among them), the ranked breakdown table and a progress bar."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeAlias

import polars as pl
import streamlit as st

from cx.analytics import fieldwork
from cx.capture import funnel
from cx.charts.fieldwork import funnel_chart
from cx.core import export, labels
from cx.core import text as text_mod
from cx.core.filters import Filters
from cx.core.users import User
from cx.improve import meeting
from cx.ui.state import filter_summary

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler

TableData: TypeAlias = "pl.DataFrame | pd.DataFrame | Styler | Sequence[Mapping[str, Any]]"
"""What a screen may show as a table: Polars, pandas, a pandas Styler or rows of dicts."""
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

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


def as_polars(frame: TableData) -> pl.DataFrame:
    """The table's data as a Polars frame: pandas (or a Styler's data) converted without its
    index, which the screens hide; rows of dicts built with a schema read from every row."""
    if isinstance(frame, pl.DataFrame):
        return frame
    import pandas as pd
    from pandas.io.formats.style import Styler

    data = frame.data if isinstance(frame, Styler) else frame
    if isinstance(data, pd.DataFrame):
        return pl.from_pandas(data)
    return pl.DataFrame(list(data), infer_schema_length=None, strict=False)


def slug(name: str) -> str:
    """A table's name as a lower-case ASCII slug, for its file and sheet names.

    >>> slug("Agency league – Spain (ES)"), slug("Zones — Réunion"), slug("…")
    ('agency-league-spain-es', 'zones-reunion', 'table')
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "table"


def file_name(name: str, suffix: str) -> str:
    """``<slug>-<YYYY-MM-DD>.<suffix>``, today in UTC: two downloads of a day sort together."""
    return f"{slug(name)}-{datetime.now(UTC):%Y-%m-%d}.{suffix}"


def downloads(
    rows: pl.DataFrame | Callable[[], pl.DataFrame],
    *,
    name: str,
    key: str,
    count: int | None = None,
) -> None:
    """The CSV and XLSX buttons of a table, side by side, written by the one writer
    :mod:`cx.core.export` (formula-looking cells neutralised). ``rows`` is the frame or a function
    giving it, called only on a click (so no workbook is built on every rerun); ``count`` (the
    rows it will give) goes on the labels. Nothing to download (an empty frame, a count of 0),
    no buttons. Keys: ``<key>_csv`` and ``<key>_xlsx``."""
    if (rows.height if isinstance(rows, pl.DataFrame) else count) == 0:
        return

    def frame() -> pl.DataFrame:
        return rows if isinstance(rows, pl.DataFrame) else rows()

    tail = "" if count is None else f" · {count:,}"
    sheet = slug(name)
    row = st.container(horizontal=True, gap="small")
    row.download_button(
        f"CSV{tail}",
        data=lambda: export.csv_bytes(frame()),
        file_name=file_name(name, "csv"),
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        key=f"{key}_csv",
        help="Download as CSV (UTF-8)",
    )
    row.download_button(
        f"XLSX{tail}",
        data=lambda: export.xlsx_bytes(frame(), sheet=sheet),
        file_name=file_name(name, "xlsx"),
        mime=XLSX_MIME,
        on_click="ignore",
        icon=":material/download:",
        key=f"{key}_xlsx",
        help="Download as an Excel workbook",
    )


def table(frame: TableData, *, name: str, key: str, **dataframe_kwargs: Any) -> None:
    """A read-only table (``st.dataframe``, full width, no index) with its CSV and XLSX downloads
    under it: the file holds exactly the rows shown (already scoped and masked by the screen).
    Streamlit's own exporter is off (``client.disableDataExport``): it does not neutralise formulas."""
    data = as_polars(frame)
    st.dataframe(
        data if isinstance(frame, Sequence) else frame,
        width="stretch",
        hide_index=True,
        **dataframe_kwargs,
    )
    config = dataframe_kwargs.get("column_config") or {}
    downloads(as_shown(data, config, dataframe_kwargs.get("column_order")), name=name, key=key)


def as_shown(
    data: pl.DataFrame, column_config: Mapping[str, Any], column_order: Sequence[str] | None = None
) -> pl.DataFrame:
    """The frame with the columns and headers the table shows: ``column_order`` kept, columns
    configured as ``None`` (hidden) dropped, each column under its configured label.

    >>> as_shown(pl.DataFrame({"a": [1], "b": [2], "c": [3]}), {"a": "Agency", "b": None}).columns
    ['Agency', 'c']
    """
    names = [c for c in (column_order or data.columns) if c in data.columns]
    names = [c for c in names if not (c in column_config and column_config[c] is None)]

    def label(c: str) -> str:
        value = column_config.get(c)
        found = value if isinstance(value, str) else (value or {}).get("label")
        return str(found or c)

    headers = [label(c) for c in names]
    if len(set(headers)) < len(headers):  # two columns under one label: keep the names
        headers = names
    return data.select(pl.col(c).alias(h) for c, h in zip(names, headers, strict=True))


_FIELDWORK_AGENCY_COLUMNS = {
    "Response %": st.column_config.NumberColumn(format="%.1f"),
    "Delivered %": st.column_config.NumberColumn(format="%.1f"),
    "vs target %": st.column_config.NumberColumn(format="%.0f"),
    "Responses": st.column_config.NumberColumn(format="localized"),
}


def fieldwork_agencies(agencies: pl.DataFrame, wave: str | None) -> None:
    """The agencies by response rate (``cx.analytics.fieldwork.agency_table``) and its downloads."""
    st.markdown("#### Agencies by response rate")
    table(
        fieldwork.agency_table(agencies),
        name=f"fieldwork agencies {wave or ''}",
        key="fieldwork_agencies",
        column_config=_FIELDWORK_AGENCY_COLUMNS,
    )


def fieldwork_funnel(live: pl.DataFrame | None, wave: str | None) -> None:
    """The live survey funnel of captured surveys (``cx.capture.funnel``, from the store, not
    from the imported counts): the chart by channel, then the totals per agency."""
    st.markdown("### Survey funnel (live capture)")
    if live is None or live.is_empty():
        st.info(f"No survey link was opened or invitation sent in {wave or 'this period'}.")
        return
    st.altair_chart(funnel_chart(funnel.stages(live, "channel")), width="stretch")
    rate = st.column_config.NumberColumn(format="percent")
    table(
        funnel.totals(live, "agency"),
        name=f"survey funnel {wave or ''}",
        key="fieldwork_funnel",
        column_config={c: rate for c in ("open_rate", "completion_rate", "response_rate")},
    )
    st.caption(
        "Personal invitations count invited → sent → opened → started → completed; open links "
        "(QR codes, kiosks) count visits, starts and answers. Open rate = opened ÷ invited."
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
    change and a note; low bases flagged and unranked, tiny cells hidden; its CSV and XLSX
    downloads under it (keys ``breakdown_<level>_csv`` and ``_xlsx``)."""
    label = labels.LEVEL_LABELS.get(level, level)
    view = df.select(
        pl.col("rank").cast(pl.String).fill_null("–").alias("#"),
        pl.col(level).alias(label),
        pl.col("n"),
        _one_decimal("nps").alias("NPS"),
        _one_decimal("nps_moe", prefix="± ").alias("MoE (95 %)"),
        _one_decimal("change", signed=True).alias("Δ vs prev."),
        labels.change_note().alias("Note"),
    )
    st.table(view, hide_index=True)
    downloads(view, name=f"NPS by {label}", key=f"breakdown_{level}")


def progress_bar(text: str) -> Callable[[str, float], None]:
    """A progress bar showing ``text``; call the returned function with a message and a fraction."""
    bar = st.progress(0.0, text=text)

    def advance(message: str, fraction: float) -> None:
        bar.progress(fraction, text=message)

    return advance
