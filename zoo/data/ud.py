"""UD treebanks as CoNLL-U sentences: the local file of a split, else the Hub's ``universal_dependencies``.

Local files under the data root win, as for the other task families (:mod:`zoo.data.tasks`). A split whose
file is absent is read from the task's ``hub`` source (``universal_dependencies``, config = the treebank,
at its pinned revision) and turned back into CoNLL-U sentences (:mod:`zoo.data.ud_hub`).
"""

from __future__ import annotations

from pathlib import Path

from zoo.data.conllu import Sentence, read_conllu
from zoo.data.tasks import load_hub_dataset, parse_split, slice_bounds
from zoo.data.ud_hub import hub_sentences
from zoo.errors import ConfigError, DataError
from zoo.paths import data_dir
from zoo.registry import TaskSpec


def local_file(task: TaskSpec, split: str) -> Path | None:
    """The local CoNLL-U file of ``split`` (``train``, ``dev``, ``test``) if it is under the data root."""
    root = data_dir(required=False)
    if split not in task.local or root is None:
        return None
    path = root / task.local[split]
    return path if path.is_file() else None


def read_ud_split(task: TaskSpec, role: str) -> list[Sentence]:
    """The sentences playing ``role`` (train / select / score), sliced as the split spec says."""
    name, lo, hi = parse_split(task.splits[role])
    path = local_file(task, name)
    if path is not None:
        sentences = read_conllu(path)
    elif task.hub is not None:
        sentences = hub_split(task, name)
    elif name in task.local:
        root = data_dir(required=False)
        raise DataError(
            f"{task.key}: {root / task.local[name] if root else task.local[name]} not found",
            hint="the task has no Hub source; set ZOO_DATA_DIR to the data root",
        )
    else:
        raise ConfigError(
            f"{task.key}: split '{name}' (role {role}) has no local CoNLL-U file and the task no Hub source",
            hint="add it under local: (or hub:) in the language file",
        )
    start, end = slice_bounds(len(sentences), lo, hi)
    return sentences[start:end]


def hub_split(task: TaskSpec, split: str) -> list[Sentence]:
    """One split of a UD task's Hub dataset as sentences (an OfflineError naming the source when it cannot
    be loaded)."""
    assert task.hub is not None
    ds = load_hub_dataset(task, split)
    return hub_sentences(ds, source=f"{task.hub.id}:{task.hub.config}:{split}")
