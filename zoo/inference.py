"""Fast inference with a checked runtime: the same exports that ``zoo bench`` times.

    from zoo.inference import FastEncoder

    enc = FastEncoder.from_pretrained("zoo-work/students/time-xh-xs", runtime="onnx-int8")
    vectors = enc.encode(["Molweni!", "Ndiyabulela kakhulu."])     # (2, hidden) mean-pooled
    out = enc(["Molweni!"])                                          # last_hidden_state + attention_mask
    enc = FastEncoder.from_pretrained("zoo-work/students/time-xh-xs", runtime="auto")
    enc.runtime_name, enc.choice              # the fastest checked runtime on this machine, and its evidence

The first use of a runtime exports the model (``torch.onnx.export``; int8 by dynamic quantisation; the fused
graphs by ONNX Runtime's transformer optimizer) into ``cache_dir()/onnx/<model>-<revision>/`` and checks it
against the eager PyTorch model on ``check_texts`` (cosine of mean-pooled embeddings >= 0.9999 fp32, >= 0.999
bf16, >= 0.99 int8). The result is stored next to the export (``check.json``); a runtime that failed its
check is refused.

``runtime="auto"`` picks the fastest checked runtime on this machine for the caller's batch size and
sequence length (:func:`zoo.bench.choice.fastest`): from this model's bench records on the same CPU model
string and thread count when the results store has them, else from a short probe (``probe_batches`` timed
batches per candidate, :func:`zoo.bench.protocol.time_batches`). The choice and its evidence (timings,
agreement, CPU) are written to ``choice.json`` beside the exports and kept as ``enc.choice``; a later call
with the same CPU, threads, batch size and sequence length reuses it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import UsageError, ZooError
from zoo.fileio import write_json_atomic

# Used when the caller gives no check texts: short sentences in several scripts and languages.
DEFAULT_CHECK_TEXTS = (
    "Molweni, ninjani namhlanje?",
    "Abantwana baya esikolweni kusasa ngamnye.",
    "The committee will publish its report next week.",
    "Die Stadt liegt am Ufer eines großen Flusses.",
    "Le gouvernement a annoncé de nouvelles mesures hier soir.",
    "A tanulmány eredményei meglepték a kutatókat.",
    "یہ کتاب بہت دلچسپ ہے اور میں اسے دوبارہ پڑھوں گا۔",
    "Ndiyabulela kakhulu ngoncedo lwakho.",
)
RUNTIMES = ("eager", "eager-bf16", "onnx-fp32", "onnx-int8", "onnx-fused-fp32", "onnx-fused-int8")
CHOICE_FILE = "choice.json"


class FastEncoder:
    """An encoder behind a checked runtime (one of :data:`RUNTIMES`) with its tokenizer."""

    def __init__(
        self,
        runtime,
        tokenizer,
        name: str,
        max_length: int,
        agreement: dict[str, Any] | None,
        choice: dict[str, Any] | None = None,
    ):
        self.runtime = runtime
        self.tokenizer = tokenizer
        self.runtime_name = name
        self.max_length = max_length
        self.agreement = agreement
        self.choice = choice

    @classmethod
    def from_pretrained(
        cls,
        model: str | Path,
        runtime: str = "onnx-int8",
        threads: int | None = None,
        cache_dir: str | Path | None = None,
        max_length: int = 512,
        check_texts: Sequence[str] | None = None,
        spin: bool = True,
        batch_size: int = 1,
        seq_len: int = 32,
        candidates: Sequence[str] = RUNTIMES,
        probe_batches: int = 5,
        use_records: bool = True,
    ) -> FastEncoder:
        """Load ``model`` (a checkpoint dir or Hub id) behind ``runtime`` (or ``"auto"``); export and check on
        first use.

        ``cache_dir`` replaces the folder of exports (default ``cache_dir()/onnx``); ``threads`` defaults to
        the CPUs this process may use; ``spin=False`` stops idle worker threads from spin-waiting (better
        on a busy machine). With ``"auto"``: ``batch_size`` x ``seq_len`` is the typical call to choose for,
        ``candidates`` the runtimes tried, ``use_records=False`` ignores bench records (always probe).
        """
        from zoo.bench.protocol import n_cpus
        from zoo.models import model_from_arg
        from zoo.onnx_export import export_root

        for name in [runtime] if runtime != "auto" else list(candidates):
            if name not in RUNTIMES:
                raise UsageError(f"unknown runtime '{name}'", hint="auto, " + ", ".join(RUNTIMES))
        ref = model_from_arg(str(model))
        tokenizer = ref.load_tokenizer()
        threads = threads or n_cpus()
        root = export_root(ref.id, ref.revision())
        if cache_dir is not None:
            root = Path(cache_dir).expanduser() / root.name
        loader = _Loader(ref, tokenizer, root, threads, spin, list(check_texts or DEFAULT_CHECK_TEXTS))
        choice = None
        if runtime == "auto":
            choice = _choose(loader, batch_size, seq_len, list(candidates), probe_batches, use_records)
            runtime = choice["runtime"]
        rt, agreement = loader.load(runtime)
        return cls(rt, tokenizer, runtime, max_length, agreement, choice)

    def __call__(self, texts: Sequence[str], max_length: int | None = None) -> dict[str, np.ndarray]:
        """``{"last_hidden_state": (n, len, hidden) float32, "attention_mask": (n, len)}`` for ``texts``."""
        batch = _tokenise(self.tokenizer, list(texts), max_length or self.max_length)
        return {"last_hidden_state": self.runtime.hidden(batch), "attention_mask": batch["attention_mask"]}

    def encode(self, texts: Sequence[str], batch_size: int = 32, normalize: bool = False) -> np.ndarray:
        """Mean-pooled sentence embeddings, (n, hidden) float32; L2-normalised when ``normalize``."""
        from zoo.runtimes import mean_pool

        if isinstance(texts, str):
            raise UsageError("encode() takes a list of texts, not a string")
        out = []
        for i in range(0, len(texts), batch_size):
            o = self(texts[i : i + batch_size])
            out.append(mean_pool(o["last_hidden_state"], o["attention_mask"]).astype(np.float32))
        vecs = np.concatenate(out) if out else np.zeros((0, 0), np.float32)
        if normalize and len(vecs):
            vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        return vecs


def _tokenise(
    tokenizer, texts: list[str], max_length: int, pad_to_max: bool = False
) -> dict[str, np.ndarray]:
    enc = tokenizer(
        texts,
        truncation=True,
        max_length=max_length,
        padding="max_length" if pad_to_max else True,
        return_tensors="np",
    )
    return {
        "input_ids": enc["input_ids"].astype(np.int64),
        "attention_mask": enc["attention_mask"].astype(np.int64),
    }


class _Loader:
    """Builds one model's runtimes, each checked against the eager fp32 model first (``check.json``)."""

    def __init__(self, ref, tokenizer, root: Path, threads: int, spin: bool, texts: list[str]):
        self.ref, self.tokenizer, self.root = ref, tokenizer, root
        self.threads, self.spin, self.texts = threads, spin, texts

    def load(self, name: str) -> tuple[Any, dict[str, Any] | None]:
        """The runtime ``name`` and its agreement (None for ``eager``, the reference itself)."""
        import torch

        from zoo.onnx_export import ONNX_FILE
        from zoo.runtimes import EXPORT_DIRS, MIN_COSINE, TORCH_RUNTIMES, TorchRuntime, check_agreement
        from zoo.runtimes import prepare_runtime as prepare

        if name in TORCH_RUNTIMES:
            torch.set_num_threads(self.threads)
        if name == "eager":
            return TorchRuntime(self.ref.load_model()), None
        sub = self.root / EXPORT_DIRS[name]
        check_file, prepared = sub / "check.json", None
        if check_file.is_file():
            agreement = json.loads(check_file.read_text(encoding="utf-8"))
        else:
            model = self.ref.load_model()
            step = 16
            batches = [
                _tokenise(self.tokenizer, self.texts[i : i + step], 512)
                for i in range(0, len(self.texts), step)
            ]
            reference = [TorchRuntime(model).hidden(b) for b in batches]
            prepared = prepare(name, model, self.root, self.threads, spin=self.spin)  # bf16: cast in place
            got = [prepared.runtime.hidden(b) for b in batches]
            agreement = check_agreement(
                reference, got, [b["attention_mask"] for b in batches], MIN_COSINE[name]
            )
            agreement["check_texts"] = len(self.texts)
            write_json_atomic(check_file, agreement)
        if not agreement.get("ok"):
            raise ZooError(
                f"{name} of {self.ref.id} disagrees with the eager model "
                f"(min cosine {agreement.get('min_cosine')}, threshold {agreement.get('threshold')})",
                hint=f"use runtime='onnx-fp32' or 'eager', or delete {sub} to re-export",
            )
        if prepared is None:
            need_model = name in TORCH_RUNTIMES or not (sub / ONNX_FILE).is_file()
            model = self.ref.load_model() if need_model else None
            prepared = prepare(name, model, self.root, self.threads, spin=self.spin)
        return prepared.runtime, agreement


def _choose(
    loader: _Loader,
    batch_size: int,
    seq_len: int,
    candidates: list[str],
    probe_batches: int,
    use_records: bool,
) -> dict[str, Any]:
    """The ``runtime="auto"`` choice: from bench records, a matching ``choice.json``, or a probe."""
    import datetime as dt

    from zoo.bench.choice import choice_from_records, fastest
    from zoo.bench.protocol import time_batches
    from zoo.bench.record import load_bench_records
    from zoo.results import environment

    key = {
        "cpu": environment()["cpu"],
        "threads": loader.threads,
        "batch_size": batch_size,
        "seq_len": seq_len,
    }
    path = loader.root / CHOICE_FILE
    if use_records:
        found = choice_from_records(
            load_bench_records(),
            loader.ref.id,
            loader.ref.revision(),
            key["cpu"],
            loader.threads,
            batch_size,
            seq_len,
        )
        if found and found["runtime"] in candidates:
            choice = {**key, "runtime": found["runtime"], "source": "bench records", "evidence": found}
            write_json_atomic(path, choice)
            return choice
    if path.is_file():
        old = json.loads(path.read_text(encoding="utf-8"))
        if old.get("source") == "probe" and all(old.get(k) == v for k, v in key.items()):
            if set(old.get("candidates", [])) == set(candidates):
                return old
    texts = [loader.texts[i % len(loader.texts)] for i in range(batch_size)]
    batch = _tokenise(loader.tokenizer, texts, seq_len, pad_to_max=True)
    evidence: dict[str, dict[str, Any]] = {}
    for name in candidates:
        try:
            rt, agreement = loader.load(name)
        except ZooError as e:  # RuntimeUnavailable or a failed check: not a candidate here
            evidence[name] = {"ok": False, "reason": str(e)}
            continue
        t = time_batches(rt, [batch], batch_size, warmup=2, min_batches=probe_batches)
        lat = t.latency_ms()
        evidence[name] = {
            "ok": True,
            "p50_ms": round(lat["p50"], 4),
            "p95_ms": round(lat["p95"], 4),
            "n_batches": t.n,
            "min_cosine": None if agreement is None else agreement.get("min_cosine"),
            "foreign_cpus": t.load.as_dict()["foreign_cpus"],
        }
        del rt
    ok = {n: e["p50_ms"] for n, e in evidence.items() if e["ok"]}
    if not ok:
        raise ZooError(
            f"no runtime of {loader.ref.id} passed its check here", hint=json.dumps(evidence)[:500]
        )
    choice = {
        **key,
        "runtime": fastest(ok),
        "source": "probe",
        "statistic": f"median of {probe_batches} timed batches after 2 warm-up (zoo.bench.protocol)",
        "candidates": candidates,
        "evidence": evidence,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    write_json_atomic(path, choice)
    return choice
