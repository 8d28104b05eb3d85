"""Feedback capture: the surveys a customer answers (definitions under ``data/surveys/``), the links
and invitations that open them, the durable landing of each answer, its fold into the wave's
Parquet and the loop it closes at once (routing rules, callback, chat feed, replies).

The public pages that serve a survey live in :mod:`cx.server.survey`; this package holds no HTTP.
"""
