"""Import screen: the wave's import options, the column-mapping editor, the dry run's
validation report, the accept step for new geography, what the import wrote, its errors in one
line and the undo of a wave's last replace or append."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from cx import ingest
from cx.core import labels
from cx.core.data import DataError
from cx.core.privacy import mask_text
from cx.ingest import mapping
from cx.ui.components import Figure, figures, table

IMPORT_ERRORS = (ingest.FormatError, ingest.IngestError, ingest.MappingError, DataError)
"""What an import refuses with a one-line reason (anything else is a bug, still shown in one line)."""
ACCEPT_KEY = "import_accept_geography"


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
        table(report.bad_rows, name=f"quarantined rows {wave}", key="import_bad_rows")
    st.markdown("Preview of the mapped columns (first rows as they will be stored):")
    table(report.preview, name=f"import preview {wave}", key="import_preview")


def import_result(message: str, rows: list[dict[str, Any]]) -> None:
    """What an import wrote: one sentence, then one row per outcome (file written, quarantine reasons)."""
    st.success(message)
    table(rows, name="import result", key="import_result")


def geography_accepted() -> bool:
    """Whether the analyst ticked the accept step (read before the dry run, shown after it)."""
    return bool(st.session_state.get(ACCEPT_KEY, False))


def geography_accept_step(report: ingest.ImportResult) -> None:
    """Without org.yaml: the new and moved agencies of the file, and the box that accepts them."""
    if report.geography.is_empty():
        return
    st.warning(
        "There is no org.yaml, so each agency's place comes from the earlier waves. These agencies "
        "are new or moved: their rows stay in quarantine until you accept where they belong."
    )
    table(report.geography, name="new or moved agencies", key="import_geography")
    st.checkbox(
        "I checked these agencies, regions and countries: accept them "
        "(recorded in the audit trail under my name)",
        key=ACCEPT_KEY,
    )


def import_error(exc: BaseException, expected: bool = True) -> None:
    """An import refused (or failed) in one line, personal data masked, and what to do next."""
    text = mask_text(" ".join(str(exc).split()))
    if expected:
        st.error(f"{text.rstrip('.')}. Fix the file or the choices above and upload again.")
    else:
        st.error(
            f"The import failed unexpectedly ({exc.__class__.__name__}: {text}). "
            "The wave is unchanged unless a result is shown above."
        )


def undo_panel(root: Path) -> None:
    """Put a wave back to its version before its last replace or append."""
    kept = ingest.undoable(root)
    if not kept:
        return
    with st.expander("Undo the last replace or append of a wave"):
        wave = st.selectbox(
            "Wave",
            list(kept),
            format_func=lambda w: f"{w} ({labels.count(kept[w], 'earlier version')} kept)",
            key="undo_wave",
        )
        if st.button(f"Restore the previous version of {wave}", key="undo_button"):
            try:
                restored = ingest.undo(root, str(wave), lock_timeout=30)
            except IMPORT_ERRORS as exc:
                import_error(exc)
                return
            st.success(restored.as_rows()[0]["reason"])
