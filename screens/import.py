"""Import data (analysts): upload a survey export, check the mapping and validation, write the wave."""

import streamlit as st

from cx import ingest, ui
from cx.ingest import mapping
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
    ui.undo_panel(root)
    st.stop()

try:  # the upload lives in a private folder for this run only
    with ingest.staged_upload(upload.name, upload.getvalue()) as (path, detected):
        if kind != "Survey responses (a wave)":
            if st.button(f"Import {upload.name}", type="primary"):
                table = ingest.import_fieldwork if kind == "Fieldwork counts" else ingest.import_crm
                result = table(path, root=root, lock_timeout=60)
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
        accept = ui.geography_accepted()  # the accept step's box, shown below the report
        options = {"root": root, "mapping": final, "mode": mode, "source": source}
        report = ingest.import_file(path, wave, dry_run=True, accept_geography=accept, **options)
        ui.validation_report(report, wave)
        ui.geography_accept_step(report)
        if report.status != "unchanged" and st.button(
            f"Import {report.accepted:,} rows into wave {wave} ({mode})",
            type="primary",
            disabled=not report.accepted,
        ):
            bar = ui.progress_bar("Starting…")
            done = ingest.import_file(
                path,
                wave,
                engine=ui.engine(),
                after_import=rules.after_import,
                progress=bar,
                accept_geography=accept,
                actor=user.username,
                lock_timeout=120,
                on_wait=lambda message: bar(message[:1].upper() + message[1:], 0.0),
                **options,
            )
            ui.import_result(
                f"Wave {wave} now holds {done.wave_rows:,} responses ({done.accepted:,} imported, {done.quarantined:,} quarantined).",
                done.as_rows(root),
            )
except ui.IMPORT_ERRORS as exc:
    ui.import_error(exc)
except Exception as exc:  # last resort: one line on the screen, never a traceback
    ui.import_error(exc, expected=False)
