"""The operational store: engine and sessions, every table (:mod:`cx.store.models`), the
append-only audit log, optimistic versioned updates and the outbox queue.

Callers use this facade (``store.session(engine)``, ``store.audit(...)``); the modules behind it
import only :mod:`cx.core`.
"""

from cx.store.audit import audit, audit_trail
from cx.store.engine import add_missing_columns, database_url, init, make_engine, session
from cx.store.models import AuditLog, GeoFields, Notification, UTCDateTime, ts_field, utcnow
from cx.store.outbox import enqueue
from cx.store.versioned import StaleEdit, update_versioned

__all__ = [
    "add_missing_columns",
    "AuditLog",
    "GeoFields",
    "Notification",
    "StaleEdit",
    "UTCDateTime",
    "audit",
    "audit_trail",
    "database_url",
    "enqueue",
    "init",
    "make_engine",
    "session",
    "ts_field",
    "update_versioned",
    "utcnow",
]
