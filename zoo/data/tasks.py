"""Load the data of an evaluation task by split role (train / select / score), locally or from the Hub.

Local files under the data root win; a task with only a ``hub`` source (or whose local files are absent)
is read with ``datasets.load_dataset`` at its pinned revision and mapped to the same columns as the
local readers (UD through CoNLL-U sentences: :mod:`zoo.data.ud_hub`). Split specs accept slices in percent, as
``datasets`` does: ``dev[:80%]``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from datasets import Dataset

from zoo.data import readers
from zoo.data.ud_hub import hub_sentences
from zoo.errors import ConfigError, DataError, OfflineError
from zoo.paths import data_dir
from zoo.registry import TaskSpec

_SLICE = re.compile(r"^(\w+)(?:\[(\d*)%?:(\d*)%?\])?$")
_HUB_SPLIT = {"train": "train", "dev": "validation", "test": "test"}


def parse_split(spec: str) -> tuple[str, int, int]:
    """``dev[:80%]`` → ``("dev", 0, 80)``; ``test`` → ``("test", 0, 100)``."""
    m = _SLICE.match(spec)
    if not m:
        raise ConfigError(f"bad split spec {spec!r}", hint="use train, dev, test or a slice like dev[:80%]")
    lo = int(m.group(2)) if m.group(2) else 0
    hi = int(m.group(3)) if m.group(3) else 100
    return m.group(1), lo, hi


def slice_bounds(n: int, lo: int, hi: int) -> tuple[int, int]:
    """Rows ``[start, end)`` of a split of ``n`` rows sliced ``[lo%:hi%]``."""
    return n * lo // 100, n * hi // 100


def _slice(ds: Dataset, lo: int, hi: int) -> Dataset:
    if (lo, hi) == (0, 100):
        return ds
    return ds.select(range(*slice_bounds(len(ds), lo, hi)))


def task_labels(task: TaskSpec, train: Dataset | None = None) -> list[str]:
    """The label set: from the task definition, the news ``labels.txt``, or sorted from the train split."""
    if task.labels:
        return list(task.labels)
    if task.format == "news-tsv" and "train" in task.local:
        return readers.read_news_labels(data_dir() / Path(task.local["train"]).parent / "labels.txt")
    if train is None:
        raise ConfigError(f"task {task.key} has no label list and no train split to derive it from")
    if "tags" in train.column_names:
        return sorted({t for tags in train["tags"] for t in tags})
    return sorted(set(train["label"]))


def read_local(task: TaskSpec, path: Path) -> Dataset:
    """Read one local file of a task with the reader its format names."""
    fmt = task.format
    if fmt == "conllu":
        return readers.read_ud(path)
    if fmt in ("iob", "pos-tsv"):
        return readers.read_tagged(path, iob=fmt == "iob")
    if fmt == "nli-jsonl":
        return readers.read_pairs(path, num_labels=len(task.labels or ()) or 3)
    if fmt == "news-tsv":
        return readers.read_news(path, readers.read_news_labels(path.parent / "labels.txt"))
    raise ConfigError(f"task {task.key}: unknown format '{fmt}'")


def load_split(task: TaskSpec, role: str) -> Dataset:
    """The dataset playing ``role`` (train / select / score) for ``task``."""
    name, lo, hi = parse_split(task.splits[role])
    root = data_dir(required=task.hub is None)
    if name in task.local and root is not None and (root / task.local[name]).is_file():
        return _slice(read_local(task, root / task.local[name]), lo, hi)
    if task.hub is None:
        raise DataError(
            f"{task.key}: {(root / task.local[name]) if root else task.local.get(name)} not found",
            hint="the task has no Hub source; set ZOO_DATA_DIR to the data root",
        )
    return _slice(load_hub_split(task, name), lo, hi)


def load_hub_split(task: TaskSpec, split: str) -> Dataset:
    """Load one split of a task from the Hub and map it to the local readers' columns."""
    return _map_hub_columns(task, load_hub_dataset(task, split))


def load_hub_dataset(task: TaskSpec, split: str) -> Dataset:
    """One split (``train``, ``dev``, ``test``) of a task's Hub dataset as the Hub has it, at the pinned
    revision; an OfflineError naming the dataset when it cannot be loaded."""
    import datasets

    hub = task.hub
    assert hub is not None
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        cached_hint = "set ZOO_DATA_DIR to a local copy, or unset HF_HUB_OFFLINE to download"
    else:
        cached_hint = "check the network, or set ZOO_DATA_DIR to a local copy"
    local = f"no local file {task.local[split]} and " if split in task.local else ""
    try:
        return datasets.load_dataset(
            hub.id, hub.config, revision=hub.revision, split=_HUB_SPLIT.get(split, split)
        )
    except Exception as e:  # datasets raises many types for "not reachable / not cached"
        raise OfflineError(
            f"{task.key}: {local}could not load {hub.id} ({hub.config}, {split}) from the Hub: "
            f"{type(e).__name__}",
            hint=cached_hint,
        ) from None


def _names(ds: Dataset, column: str) -> list[str] | None:
    feat = ds.features[column]
    inner = getattr(feat, "feature", feat)
    return list(inner.names) if hasattr(inner, "names") else None


def _map_hub_columns(task: TaskSpec, ds: Dataset) -> Dataset:
    if task.format in ("iob", "pos-tsv"):
        col = next(c for c in ("ner_tags", "upos", "pos_tags", "tags") if c in ds.column_names)
        names = _names(ds, col)
        return Dataset.from_dict(
            {
                "tokens": ds["tokens"],
                "tags": [[names[t] if names else str(t) for t in row] for row in ds[col]],
            },
            features=readers.TAGGING_FEATURES,
        )
    if task.format == "nli-jsonl":
        return ds.select_columns(["premise", "hypothesis", "label"]).cast(readers.PAIR_FEATURES)
    if task.format == "news-tsv":
        names = _names(ds, "label")
        return Dataset.from_dict(
            {
                "text": [f"{h}. {t}" for h, t in zip(ds["headline"], ds["text"], strict=False)],
                "label": [names[x] if names else str(x) for x in ds["label"]],
            },
            features=readers.TEXT_FEATURES,
        )
    if task.format == "conllu":
        return readers.ud_dataset(hub_sentences(ds, source=f"{task.hub.id}:{task.hub.config}"))
    raise ConfigError(f"task {task.key}: no Hub mapping for format '{task.format}'")
