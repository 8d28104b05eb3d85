"""The screens' room, ``cx.ui``: the only code of ``cx`` importing Streamlit, so pages stay thin.

Pages call ``ui.X``; each name lives in the module of its concept, lowest first:
``data`` (cached scans, rollups, queries, waves, the store's engine), ``navigation`` (screens by
role), ``state`` (shared filters and the URL), ``actions`` (the one way a page writes and its
flash messages), ``components`` (CSS, header, takeaway, big figures, tables and their CSV /
XLSX downloads), ``auth`` (the sign-in gate and the current user), then one module per screen
family: ``alerts``, ``cases``, ``ingest`` (the import screen), ``meeting``, ``plans``, ``rules``
and ``voice``. Submodules never import this facade; to patch a cache or a constant in a test,
patch it in its module (``cx.ui.data``, ``cx.ui.auth``…), where it is looked up.
"""

from cx.ui.account import render as account_screen
from cx.ui.actions import act, flash, keep_flash, seen_version
from cx.ui.alerts import alert_card
from cx.ui.auth import current_user, data_scope, login_gate, require_user, scope, session_token
from cx.ui.cases import case_actions, case_history, case_worklist
from cx.ui.components import (
    Figure,
    base_note,
    benchmark_figures,
    breakdown_table,
    downloads,
    fieldwork_agencies,
    fieldwork_figures,
    fieldwork_funnel,
    figure,
    figures,
    fmt_points,
    header,
    kpi_row,
    progress_bar,
    style,
    table,
    takeaway,
)
from cx.ui.data import (
    CACHE_ENTRIES,
    CACHE_TTL,
    data_root,
    engine,
    ensure_data,
    overview_query,
    query,
    responses,
    start_outbox_sender,
    version,
    waves,
)
from cx.ui.ingest import (
    IMPORT_ERRORS,
    geography_accept_step,
    geography_accepted,
    import_error,
    import_result,
    mapping_editor,
    undo_panel,
    validation_report,
    wave_import_options,
)
from cx.ui.meeting import kicker, slide, slide_style, stepper
from cx.ui.navigation import FRONT_LINE, MANAGERS, OWN, PAGES, PageSpec, allowed, navigation
from cx.ui.plans import (
    approve_or_reject,
    plan_comments,
    plan_edit_form,
    plan_effect,
    plan_heading,
    plan_proposal,
    plan_tasks,
    plan_tracker,
)
from cx.ui.rules import rule_form, rule_matches
from cx.ui.scorecards import load as scorecard_rows
from cx.ui.scorecards import period_picker as scorecard_period
from cx.ui.scorecards import show as scorecard_show
from cx.ui.state import (
    filter_summary,
    filters,
    set_url,
    sidebar_filters,
    url_follows,
    url_param,
    url_pick,
    url_select,
)
from cx.ui.voice import (
    CARD_CSS,
    READING_TAGS,
    verbatim_cards,
    verbatim_filters,
    verbatim_html,
)
from cx.ui.warm import after_sign_in, preload
from cx.ui.warm import start as start_warming

__all__ = [
    "account_screen",
    "READING_TAGS",
    "after_sign_in",
    "preload",
    "start_warming",
    "CACHE_ENTRIES",
    "CACHE_TTL",
    "CARD_CSS",
    "FRONT_LINE",
    "Figure",
    "MANAGERS",
    "OWN",
    "PAGES",
    "PageSpec",
    "act",
    "alert_card",
    "allowed",
    "approve_or_reject",
    "base_note",
    "benchmark_figures",
    "breakdown_table",
    "case_actions",
    "case_history",
    "case_worklist",
    "session_token",
    "current_user",
    "data_root",
    "downloads",
    "engine",
    "ensure_data",
    "fieldwork_agencies",
    "fieldwork_figures",
    "fieldwork_funnel",
    "figure",
    "figures",
    "filter_summary",
    "filters",
    "flash",
    "fmt_points",
    "header",
    "IMPORT_ERRORS",
    "geography_accept_step",
    "geography_accepted",
    "import_error",
    "import_result",
    "keep_flash",
    "kicker",
    "kpi_row",
    "login_gate",
    "mapping_editor",
    "navigation",
    "overview_query",
    "plan_comments",
    "plan_edit_form",
    "plan_effect",
    "plan_heading",
    "plan_proposal",
    "plan_tasks",
    "plan_tracker",
    "progress_bar",
    "query",
    "require_user",
    "data_scope",
    "responses",
    "rule_form",
    "rule_matches",
    "scorecard_period",
    "scorecard_rows",
    "scorecard_show",
    "scope",
    "seen_version",
    "set_url",
    "sidebar_filters",
    "slide",
    "slide_style",
    "start_outbox_sender",
    "stepper",
    "style",
    "table",
    "takeaway",
    "url_follows",
    "url_param",
    "url_pick",
    "url_select",
    "undo_panel",
    "validation_report",
    "verbatim_cards",
    "verbatim_filters",
    "verbatim_html",
    "version",
    "wave_import_options",
    "waves",
]
