"""The importer: survey exports as waves, CRM transactions and fieldwork counts as side tables.

Read by content (:mod:`~cx.ingest.formats`), map columns (:mod:`~cx.ingest.mapping`), validate
every row (:mod:`~cx.ingest.validate`, :mod:`~cx.ingest.geography`), flag data quality
(:mod:`~cx.ingest.quality`), write atomically (:mod:`~cx.core.atomic`): a wave
(:mod:`~cx.ingest.waves`, earlier versions in :mod:`~cx.ingest.versions`) or a side table
(:mod:`~cx.ingest.tables`), one import of a table at a time (:mod:`~cx.ingest.locks`); quarantine
files and previews are masked (:mod:`~cx.ingest.quarantine`); uploads from the screen are staged
in a private folder for the time of the import (:mod:`~cx.ingest.uploads`). An import writes only
under ``waves/wave=<W>/``, ``versions/``, ``quarantine/``, ``mappings/``, ``crm/``,
``fieldwork.parquet`` and ``.locks/``. Callers use the names below.
"""

from cx.ingest.checks import IngestError
from cx.ingest.formats import FormatError
from cx.ingest.locks import LOCK_TIMEOUT, exclusive
from cx.ingest.mapping import MappingError
from cx.ingest.quarantine import masked
from cx.ingest.tables import TableResult, import_crm, import_fieldwork
from cx.ingest.tables import undo as undo_table
from cx.ingest.uploads import MAX_UPLOAD_BYTES, staged_upload
from cx.ingest.validate import MODES
from cx.ingest.versions import KEEP as VERSIONS_KEPT
from cx.ingest.versions import Restored
from cx.ingest.waves import (
    MODE_LABELS,
    ImportResult,
    import_file,
    next_wave,
    prepare,
    read_source,
    resolve_mapping,
    undo,
    undoable,
)

__all__ = [
    "LOCK_TIMEOUT",
    "MAX_UPLOAD_BYTES",
    "MODES",
    "MODE_LABELS",
    "VERSIONS_KEPT",
    "FormatError",
    "ImportResult",
    "IngestError",
    "MappingError",
    "Restored",
    "TableResult",
    "exclusive",
    "import_crm",
    "import_fieldwork",
    "import_file",
    "masked",
    "next_wave",
    "prepare",
    "read_source",
    "resolve_mapping",
    "staged_upload",
    "undo",
    "undo_table",
    "undoable",
]
