"""The importer: survey exports as waves, CRM transactions and fieldwork counts as side tables.

Read by content (:mod:`~cx.ingest.formats`), map columns (:mod:`~cx.ingest.mapping`), validate
every row (:mod:`~cx.ingest.validate`), flag data quality (:mod:`~cx.ingest.quality`), write
atomically (:mod:`~cx.ingest.atomic`): a wave (:mod:`~cx.ingest.waves`) or a side table
(:mod:`~cx.ingest.tables`); uploads from the screen are staged first (:mod:`~cx.ingest.uploads`).
An import writes only under ``waves/wave=<W>/``, ``quarantine/``, ``mappings/``, ``crm/`` and
``fieldwork.parquet``. Callers use the names below.
"""

from cx.ingest.formats import FormatError
from cx.ingest.mapping import MappingError
from cx.ingest.tables import TableResult, import_crm, import_fieldwork
from cx.ingest.uploads import MAX_UPLOAD_BYTES, stage_upload
from cx.ingest.validate import MODES, IngestError
from cx.ingest.waves import (
    MODE_LABELS,
    ImportResult,
    import_file,
    next_wave,
    prepare,
    read_source,
    resolve_mapping,
)

__all__ = [
    "MAX_UPLOAD_BYTES",
    "MODES",
    "MODE_LABELS",
    "FormatError",
    "ImportResult",
    "IngestError",
    "MappingError",
    "TableResult",
    "import_crm",
    "import_fieldwork",
    "import_file",
    "next_wave",
    "prepare",
    "read_source",
    "resolve_mapping",
    "stage_upload",
]
