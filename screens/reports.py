"""Reports: one click builds the scope's PDF report, the PowerPoint deck and the one-page infographic."""

import streamlit as st

from cx import reports, ui
from cx.analytics import takeaways

user = ui.require_user(*ui.MANAGERS)
scope, filters = user.scope, ui.filters()
ui.header("Reports", user, filters)

head = ui.query("headline", scope, filters)
ui.takeaway(takeaways.overview_takeaway(head))
st.markdown(
    f"#### {reports.scope_label(scope)} · {reports.filters_label(filters)}\n"
    "The report holds a summary, key figures with margins of error, evolution, strengths and weaknesses, "
    "benchmarks, comment themes, alerts and action plans, for your scope and the filters in the sidebar. "
    "The deck has one slide per screen with editable tables; the infographic fits the key figures on one page."
)

key = (str(scope), filters, ui.version())
if st.button("Generate report", type="primary", icon=":material/picture_as_pdf:", key="generate"):
    with st.spinner("Building the PDF, the deck and the infographic…"):
        try:
            files = reports.report_files(
                ui.responses(), scope, filters, engine=ui.engine(), user_name=user.name
            )
        except (reports.ReportError, ValueError) as exc:
            st.error(
                f"The report could not be built: {exc}. Change the filters or the wave and try again."
            )
            files = None
    st.session_state["report_files"] = (key, files) if files else None

stored = st.session_state.get("report_files")
if stored and stored[0] == key:
    files = stored[1]
    labels = {
        "pdf": ("PDF report", "application/pdf", ":material/picture_as_pdf:"),
        "pptx": (
            "PowerPoint deck",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            ":material/slideshow:",
        ),
        "png": ("Infographic (PNG)", "image/png", ":material/image:"),
        "infographic_pdf": ("Infographic (PDF)", "application/pdf", ":material/description:"),
    }
    columns = st.columns(len(labels))
    for column, (kind, (label, mime, icon)) in zip(columns, labels.items(), strict=True):
        name, data = files[kind]
        column.download_button(
            label,
            data,
            file_name=name,
            mime=mime,
            icon=icon,
            key=f"download_{kind}",
            width="stretch",
            on_click="ignore",
        )
    st.subheader("Infographic preview")
    st.image(files["png"][1], width="stretch")
else:
    st.info("Press **Generate report** to build the files for this scope and these filters.")
