"""The registry: one YAML file per language (``languages/``) and per task family (``tasks/``), typed specs."""

from zoo.registry.loader import (
    LANGUAGES_DIR,
    TASK_FAMILIES_DIR,
    get_language,
    languages,
    languages_dir,
    load_language_file,
    load_task_family,
    parse_languages,
    spec_as_dict,
)
from zoo.registry.spec import (
    SIZES,
    HubDataset,
    LanguageSpec,
    ReportedScore,
    StudentShape,
    TaskSpec,
    TeacherRef,
)

__all__ = [
    "LANGUAGES_DIR", "TASK_FAMILIES_DIR", "SIZES", "HubDataset", "LanguageSpec", "ReportedScore",
    "StudentShape", "TaskSpec", "TeacherRef", "get_language", "languages", "languages_dir",
    "load_language_file", "load_task_family", "parse_languages", "spec_as_dict",
]
