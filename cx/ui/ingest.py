"""Import screen: the wave's import options, the column-mapping editor, the dry run's
validation report and what the import wrote."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from cx import ingest
from cx.ingest import mapping
from cx.ui.components import Figure, figures


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


def import_result(message: str, rows: list[dict[str, Any]]) -> None:
    """What an import wrote: one sentence, then one row per outcome (file written, quarantine reasons)."""
    st.success(message)
    st.dataframe(rows, hide_index=True, width="stretch")
