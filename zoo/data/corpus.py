"""A language's raw-text corpus as files: the local ones, else its Hub datasets written out once.

Local files under the data root win (as for tasks). A language with none there reads each ``corpus.hub``
dataset with ``datasets.load_dataset`` (at its pinned revision), and writes the non-empty lines of its text
column to ``cache_dir()/hub-corpus/`` (atomically, keyed by the dataset's fingerprint), so distillation and
benchmarks treat a Hub corpus exactly like a local file.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from zoo.errors import DataError, OfflineError
from zoo.fileio import open_atomic
from zoo.paths import cache_dir, data_dir
from zoo.registry import HubDataset, LanguageSpec


def corpus_files(spec: LanguageSpec) -> tuple[list[Path], str]:
    """The corpus files of ``spec`` and where they came from (``local`` or ``hub``)."""
    root = data_dir(required=not spec.corpus_hub)
    local = spec.corpus_files(root) if root is not None else []
    if local:
        return local, "local"
    if not spec.corpus_hub:
        raise DataError(
            f"no local corpus for {spec.code} under {root} (globs: {', '.join(spec.corpus_local)})",
            hint="set ZOO_DATA_DIR to the shared data root, or add a corpus.hub dataset to the language file",
        )
    return [hub_corpus_file(hub) for hub in spec.corpus_hub], "hub"


def hub_corpus_file(hub: HubDataset) -> Path:
    """One Hub dataset's text column as a local text file (one line per non-empty line of text)."""
    import datasets

    split = hub.split or "train"
    column = hub.text_field or "text"
    try:
        ds = datasets.load_dataset(hub.id, hub.config, revision=hub.revision, split=split)
    except Exception as e:  # datasets raises many types for "not reachable / not cached"
        offline = os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1"
        raise OfflineError(
            f"could not load the corpus {hub.id} ({hub.config or 'default'}, {split}): {type(e).__name__}",
            hint="set ZOO_DATA_DIR to a local copy" + (", or unset HF_HUB_OFFLINE" if offline else ""),
        ) from None
    if column not in ds.column_names:
        raise DataError(
            f"corpus {hub.id}: no column '{column}' (columns: {', '.join(ds.column_names)})",
            hint="set text_field in the language file's corpus.hub entry",
        )
    key = json.dumps([hub.id, hub.config, hub.revision, split, column, ds._fingerprint])
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    out = cache_dir() / "hub-corpus" / f"{hub.id.replace('/', '--')}-{hub.config or 'default'}-{digest}.txt"
    if out.is_file():
        return out
    written = 0
    with open_atomic(out) as f:  # streamed in batches: a large Wikipedia never sits in memory whole
        for batch in ds.iter(batch_size=1000):
            for text in batch[column]:
                for line in str(text or "").splitlines():
                    if line.strip():
                        f.write(line.strip() + "\n")
                        written += 1
        if not written:
            raise DataError(f"corpus {hub.id} ({hub.config or 'default'}, {split}) has no text")
    return out
