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
            table = ingest.import_fieldwork if kind == "Fieldwork counts" else ingest.import_crm
            result = table(path, root=root)
            ui.import_result(
                f"Wrote {result.target.name}: {result.accepted:,} rows accepted, {result.quarantined:,} quarantined.",
                result.as_rows(root),
            )
        st.stop()
    source = ingest.read_source(path)
    st.caption(
        f"Detected: {source.detail} · {source.frame.height:,} rows · {source.frame.width} columns"
    )
    wave, survey, mode, scale = ui.wave_import_options(ingest.next_wave(root))
    chosen = ingest.resolve_mapping(source, root, survey=survey or None, scales={"*": scale})
    edited = ui.mapping_editor(source.frame, chosen, key=f"map_{path.name}")
    final = mapping.from_editor(edited, survey, scale)
    options = {"root": root, "mapping": final, "mode": mode, "source": source}
    report = ingest.import_file(path, wave, dry_run=True, **options)
except (FormatError, ingest.IngestError, mapping.MappingError) as exc:
    st.error(f"{exc}. Fix the file or the choices above and upload again.")
    st.stop()

ui.validation_report(report, wave)
if report.status != "unchanged" and st.button(
    f"Import {report.accepted:,} rows into wave {wave} ({mode})",
    type="primary",
    disabled=not report.accepted,
):
    try:
        done = ingest.import_file(
            path,
            wave,
            engine=ui.engine(),
            after_import=rules.after_import,
            progress=ui.progress_bar("Starting…"),
            **options,
        )
    except (FormatError, ingest.IngestError) as exc:
        st.error(f"{exc}.")
        st.stop()
    ui.import_result(
        f"Wave {wave} now holds {done.wave_rows:,} responses ({done.accepted:,} imported, {done.quarantined:,} quarantined).",
        done.as_rows(root),
    )
