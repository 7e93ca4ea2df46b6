"""Results: the typed record (``record``), the store (``store``), provenance, the selection and summary
rules every view shares (``select``), the language table (``tables``) and published reference rows
(``reported``)."""

from zoo.results.provenance import environment, git_commit
from zoo.results.record import ROLES, SCHEMA, Environment, ModelInfo, ResultRecord, TaskInfo
from zoo.results.select import (
    PROTOCOL_LABELS,
    choose_preset,
    mean_ci95,
    record_protocol,
    retention,
    retention_text,
)
from zoo.results.store import RecordKey, find_record, load_records, make_record, save_record, slug

__all__ = [
    "PROTOCOL_LABELS", "ROLES", "RecordKey", "SCHEMA", "Environment", "ModelInfo", "ResultRecord", "TaskInfo",
    "choose_preset", "environment", "find_record", "git_commit", "load_records", "make_record", "mean_ci95",
    "record_protocol", "retention", "retention_text", "save_record", "slug",
]
