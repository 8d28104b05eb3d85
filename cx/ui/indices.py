"""Support and criticality indices on the Fieldwork and Benchmarks screens, and the manual entry
of an agency's monthly customers served (:mod:`cx.analytics.indices`, :mod:`cx.ingest.served`)."""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from cx import store
from cx.analytics import indices
from cx.charts.indices import indices_chart
from cx.core import org as org_mod
from cx.core.filters import Filters
from cx.core.scope import Scope, contains
from cx.core.users import User
from cx.ingest import served as served_mod
from cx.ui.actions import act, flash, seen_version
from cx.ui.components import table
from cx.ui.data import data_root, engine, query

MONTHS_OFFERED = 24
TABLE_ROW_PX = 35
TABLE_MAX_PX = 600
_TABLE_COLUMNS = {
    "Support #": st.column_config.NumberColumn(format="%d"),
    "Served": st.column_config.NumberColumn(format="localized"),
    "Answers": st.column_config.NumberColumn(format="localized"),
    "Response %": st.column_config.NumberColumn(format="%.1f"),
    "Support /1,000": st.column_config.NumberColumn(format="%.1f"),
    "Criticality /1,000": st.column_config.NumberColumn(format="%.1f"),
    "Criticality #": st.column_config.NumberColumn(format="%d"),
}


def _manual(scope: Scope) -> tuple[indices.ManualServed, ...]:
    """The monthly counts entered by hand in the scope, read fresh (a save shows at once)."""
    with store.session(engine()) as s:
        return indices.manual_counts(s, scope)


def indices_section(scope: Scope, filters: Filters, *, key: str) -> None:
    """The section: a sentence on the most critical agency, the chart of both indices with their
    95 % intervals, the ranked table (CSV / XLSX under it, keys ``<key>_csv`` / ``_xlsx``) and
    the definitions. Headed in markdown: the screens' own subheaders stay theirs."""
    st.markdown("### Support and criticality indices")
    manual = _manual(scope)
    root = str(data_root())
    only = Filters(wave=filters.wave, channels=filters.channels)
    try:
        df = query(indices.indices, scope, only, root=root, manual=manual, by=("agency", "wave"))
        total = query(indices.indices, scope, only, root=root, manual=manual, by=("wave",))
    except indices.IndicesError as exc:
        st.error(
            f"Indices unavailable: {exc}. Fix cx/config/indices.yaml or the data, then reload."
        )
        return
    if df.is_empty():
        st.info(f"No answers and no customers-served count in {filters.wave or 'this period'}.")
        return
    st.markdown(f"**{indices.takeaway(df, total)}**")
    # Stacked, not side by side: 28 agencies make a tall chart and a wide table.
    if df["criticality_index"].is_not_null().any():
        st.altair_chart(indices_chart(df), width="stretch")
    else:
        st.info("No index to chart: no customers-served count, or too few answers.")
    table(
        indices.indices_view(df),
        name=f"support and criticality {filters.wave or ''}",
        key=key,
        column_config=_TABLE_COLUMNS,
        height=min(TABLE_ROW_PX * (df.height + 1) + 3, TABLE_MAX_PX),
    )
    rule = indices.load_config()
    ignored = (
        " Touchpoint and segment filters do not apply here."
        if (filters.touchpoints or filters.segments)
        else ""
    )
    st.caption(
        f"Support = positive ratings ({rule.positives}) and criticality = negative ratings "
        f"({rule.negatives}) per 1,000 customers served; bars: Wilson 95 % interval. Customers "
        "served come from the till counts of the fieldwork file, else from the monthly counts "
        "entered by hand. No count, no index. Under "
        f"{indices.LOW_SERVED} customers served or {indices.LOW_ANSWERS} answers: low count, "
        "shown but not ranked; under 5 answers: counts only. Rank 1 = most support, least "
        f"criticality.{ignored}"
    )


def _months(today: date, count: int = MONTHS_OFFERED) -> list[str]:
    """The last ``count`` months up to this one, newest first."""
    out, year, month = [], today.year, today.month
    for _ in range(count):
        out.append(f"{year}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out


def _save(user: User, agency: str, month: str, version: int | None) -> None:
    """Form callback: save the typed count of the picked agency and month."""
    count = st.session_state.get(f"sv_served:{agency}:{month}")
    act(
        lambda s: served_mod.set_served(
            s, user, agency=agency, month=month, served=count, expected_version=version
        ),
        f"{agency}, {month}: {count:,} customers served saved." if isinstance(count, int) else None,
        refused=(served_mod.ServedError,),
        failed="Not saved: {exc}",
        stale="Not saved: {exc}",
        seen=f"served:{agency}:{month}",
        slot="served",
        rerun=False,
    )


def _delete(user: User, agency: str, month: str, version: int) -> None:
    act(
        lambda s: served_mod.delete_served(
            s, user, agency=agency, month=month, expected_version=version
        ),
        f"{agency}, {month}: entry deleted.",
        refused=(served_mod.ServedError,),
        failed="Not deleted: {exc}",
        stale="Not deleted: {exc}",
        seen=f"served:{agency}:{month}",
        slot="served",
        rerun=False,
    )


def served_form(user: User) -> None:
    """The manual entry of one agency's customers served in one month, for the managers and data
    admins of its geography (the domain checks again), with the entries of the scope below."""
    organisation = org_mod.load(data_root())
    agencies = [
        a.name
        for a in organisation.agencies
        if contains(user.scope, region=a.region, country=a.country, agency=a.name)
    ]
    if not user.has(*served_mod.ENTER_ROLES) or not agencies:
        return
    with st.expander("Enter customers served by hand (agencies without a till feed)"):
        st.caption(
            "The monthly count of customers served, from the till. The fieldwork file's count "
            "wins for a wave that has one; these months fill in the others (quarterly and "
            "monthly waves; a weekly wave holds no whole month)."
        )
        flash("served")
        c1, c2 = st.columns(2)
        agency = c1.selectbox("Agency", sorted(agencies), key="sv_agency")
        month = c2.selectbox("Month", _months(store.utcnow().date()), index=1, key="sv_month")
        with store.session(engine()) as s:
            current = served_mod.entry(s, agency, month)
        version = (
            None if current is None else seen_version(f"served:{agency}:{month}", current.version)
        )
        if current is not None:
            st.caption(
                f"Entered: {current.served:,} by {current.entered_by} on "
                f"{current.entered_at:%Y-%m-%d %H:%M} UTC (version {current.version})."
            )
        with st.form(f"f_served:{agency}:{month}"):
            st.number_input(
                "Customers served",
                min_value=0,
                max_value=served_mod.MAX_SERVED,
                step=1,
                value=None if current is None else current.served,
                key=f"sv_served:{agency}:{month}",
            )
            st.form_submit_button(
                "Save", type="primary", on_click=_save, args=(user, agency, month, version)
            )
        if current is not None and version is not None:
            st.button(
                "Delete this entry",
                key=f"sv_delete:{agency}:{month}",
                on_click=_delete,
                args=(user, agency, month, version),
            )
        with store.session(engine()) as s:
            rows = served_mod.list_served(s, user.scope)
        if rows:
            table(
                pl.DataFrame(
                    {
                        "Agency": [r.agency for r in rows],
                        "Month": [r.month for r in rows],
                        "Customers served": [r.served for r in rows],
                        "Entered by": [r.entered_by for r in rows],
                    },
                    schema={
                        "Agency": pl.String,
                        "Month": pl.String,
                        "Customers served": pl.Int64,
                        "Entered by": pl.String,
                    },
                ),
                name="customers served entered by hand",
                key="served_counts",
            )
