"""Import data (analysts): upload a survey export, check the mapping and validation, write the wave."""

import streamlit as st

from cx import ingest, ui
from cx.ingest import mapping
from cx.ingest.formats import FormatError
from cx.loop import rules

user = ui.require_user("analyst")
ui.header("Import data", user)
root = ui.data_root()
ui.takeaway(
    "Bring a wave in: nothing is written until the validation report looks right, and bad rows go to quarantine with their reason."
)

kind = st.radio(
    "What are you importing?",
    ["Survey responses (a wave)", "Fieldwork counts", "CRM transactions"],
    horizontal=True,
    key="import_kind",
)
upload = st.file_uploader(
    "File: CSV (any delimiter; UTF-8 or cp1252), Excel .xlsx, SPSS .sav, Parquet, or Triple-S (a .zip of the XML and its data file)",
    key="upload",
    max_upload_size=ingest.MAX_UPLOAD_BYTES // (1024 * 1024),
)
if upload is None:
    st.info(
        f"Upload a file of at most {ingest.MAX_UPLOAD_BYTES // (1024 * 1024)} MB. Its type is checked from its content, not its name."
    )
    st.stop()

try:
    path, detected = ingest.stage_upload(upload.name, upload.getvalue())
    if kind != "Survey responses (a wave)":
        if st.button(f"Import {upload.name}", type="primary"):
            result = (
                ingest.import_fieldwork(path, root=root)
                if kind == "Fieldwork counts"
                else ingest.import_crm(path, root=root)
            )
            st.success(
                f"Wrote {result.target.name}: {result.accepted:,} rows accepted, {result.quarantined:,} quarantined."
            )
            st.dataframe(result.as_rows(root), width="stretch", hide_index=True)
        st.stop()
    source = ingest.read_source(path)
    st.caption(
        f"Detected: {source.detail} · {source.frame.height:,} rows · {source.frame.width} columns"
    )
    c1, c2, c3, c4 = st.columns(4)
    wave = c1.text_input(
        "Wave", value=ingest.next_wave(root), key="import_wave", help="2026-Q4, 2026-10 or 2026-W42"
    )
    survey = c2.text_input("Survey (its mapping is saved for the next wave)", key="import_survey")
    mode = c3.selectbox(
        "If the wave exists", ingest.MODES, format_func=ingest.MODE_LABELS.get, key="import_mode"
    )
    scale = c4.selectbox(
        "Attribute scale in the file",
        list(mapping.SCALES),
        key="import_scale",
        help="Rescaled to 0–10: y = (x − min) × 10 / (max − min)",
    )
    chosen = ingest.resolve_mapping(source, root, survey=survey or None, scales={"*": scale})
    st.markdown("#### Column mapping")
    edited = st.data_editor(
        mapping.editor_rows(source.frame, chosen),
        hide_index=True,
        width="stretch",
        key=f"map_{path.name}",
        disabled=["source", "example"],
        column_config={
            "maps to": st.column_config.SelectboxColumn(
                options=mapping.targets(source.frame.columns)
            )
        },
    )
    final = mapping.from_editor(edited, survey, scale)
    report = ingest.import_file(
        path, wave, root=root, mapping=final, mode=mode, dry_run=True, source=source
    )
except (FormatError, ingest.IngestError, mapping.MappingError) as exc:
    st.error(f"{exc}. Fix the file or the choices above and upload again.")
    st.stop()

st.markdown("#### Validation report")
m1, m2, m3, m4 = st.columns(4)
m1.metric("Rows in the file", f"{report.input_rows:,}")
m2.metric("Accepted", f"{report.accepted:,}")
m3.metric("Quarantined", f"{report.quarantined:,}")
m4.metric(
    "Flagged excluded",
    f"{report.excluded:,}",
    ", ".join(f"{k} {v}" for k, v in report.flags.items()) or None,
    delta_color="off",
    delta_arrow="off",
)
if report.status == "unchanged":
    st.info(f"This exact file is already in wave {wave}: importing it again changes nothing.")
if report.quarantined:
    st.markdown("First quarantined rows (the full list is written to the quarantine file):")
    st.dataframe(report.bad_rows, hide_index=True, width="stretch")
st.markdown("Preview of the mapped columns (first rows as they will be stored):")
st.dataframe(report.preview, hide_index=True, width="stretch")

if report.status != "unchanged" and st.button(
    f"Import {report.accepted:,} rows into wave {wave} ({mode})",
    type="primary",
    disabled=not report.accepted,
):
    bar = st.progress(0.0, text="Starting…")
    try:
        done = ingest.import_file(
            path,
            wave,
            root=root,
            mapping=final,
            mode=mode,
            source=source,
            engine=ui.engine(),
            after_import=rules.after_import,
            progress=lambda message, fraction: bar.progress(fraction, text=message),
        )
    except (FormatError, ingest.IngestError) as exc:
        st.error(f"{exc}.")
        st.stop()
    st.success(
        f"Wave {wave} now holds {done.wave_rows:,} responses ({done.accepted:,} imported, {done.quarantined:,} quarantined)."
    )
    st.dataframe(done.as_rows(root), hide_index=True, width="stretch")
