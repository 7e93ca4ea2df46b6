"""Inference runtimes for an encoder and the agreement check that gates them (used by ``zoo bench`` and
:mod:`zoo.inference`).

Runtimes (each maps a batch ``{"input_ids", "attention_mask"}`` of int64 numpy arrays to the last hidden
states):

- ``eager``: the PyTorch model, ``attn_implementation="sdpa"``, under ``torch.inference_mode``.
- ``eager-bf16``: the same with its weights cast to bf16 (fast only where the CPU has native bf16: AMX or
  AVX512-BF16; elsewhere it still runs, slowly, and a measurement rejects it).
- ``onnx-fp32``: ONNX Runtime on the exported graph (:mod:`zoo.onnx_export`).
- ``onnx-int8``: ONNX Runtime on the dynamically int8-quantised graph (:mod:`zoo.onnx_export`).
- ``onnx-fused-fp32`` / ``onnx-fused-int8``: the graph fused by ONNX Runtime's transformer optimizer
  (attention, skip-layer-norm, bias-GELU, embed-layer-norm), and its dynamic int8 (:mod:`zoo.onnx_fused`).
- ``compile``: ``torch.compile`` of the eager model (optional; needs a C++ compiler on CPU).

A runtime may only be timed or used after :func:`check_agreement` passed: cosine of mean-pooled embeddings
against the eager fp32 model of at least :data:`MIN_COSINE` (0.9999 fp32, 0.99 int8, 0.999 bf16) on every
sentence; the largest absolute difference of a hidden state is recorded too. bf16 keeps 8 significant bits
(int8 weights keep 7 plus a per-channel scale), so its threshold sits between the two: a bf16 runtime that
drifts as far as int8 may is refused.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import ZooError
from zoo.onnx_export import export_onnx, quantize_int8, set_sdpa
from zoo.onnx_fused import FusionFailed, export_fused, quantize_fused

RUNTIMES = ("eager", "eager-bf16", "onnx-fp32", "onnx-int8", "onnx-fused-fp32", "onnx-fused-int8", "compile")
TORCH_RUNTIMES = ("eager", "eager-bf16", "compile")
CPU_DEFAULT = RUNTIMES[:-1]  # what ``zoo bench`` may time on a CPU by default: all but compile
INT8_RUNTIMES = ("onnx-int8", "onnx-fused-int8")  # dynamic int8: CPU only
MIN_COSINE = {
    "onnx-fp32": 0.9999,
    "onnx-int8": 0.99,
    "onnx-fused-fp32": 0.9999,
    "onnx-fused-int8": 0.99,
    "compile": 0.9999,
    "eager-fp16": 0.999,
    "eager-bf16": 0.999,
}
EXPORT_DIRS = {  # the folder under export_root() of each ONNX runtime (and of eager-bf16's check.json)
    "onnx-fp32": "fp32",
    "onnx-int8": "int8",
    "onnx-fused-fp32": "fused-fp32",
    "onnx-fused-int8": "fused-int8",
    "eager-bf16": "eager-bf16",
}

Batch = dict[str, np.ndarray]


def cpu_default_runtimes() -> tuple[tuple[str, ...], str | None]:
    """What ``zoo bench`` times on this CPU by default, and why a runtime was left out (or None): all but
    ``compile``, and ``eager-bf16`` only where the CPU has native bf16 (the probes' rule,
    :func:`zoo.evaluation.numerics.no_native_bf16`: elsewhere it runs many times slower than fp32)."""
    from zoo.evaluation.numerics import no_native_bf16

    why = no_native_bf16()
    if why is None:
        return CPU_DEFAULT, None
    return tuple(r for r in CPU_DEFAULT if r != "eager-bf16"), f"eager-bf16 left out: {why}"


class RuntimeUnavailable(ZooError):
    """A runtime cannot run here (missing provider, compiler, unsupported device)."""


def parse_runtimes(text: str | Sequence[str]) -> list[str]:
    """``"eager,onnx-int8"`` -> validated runtime names (a UsageError names the allowed ones)."""
    from zoo.errors import UsageError, did_you_mean

    names = [t.strip() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    for n in names:
        if n not in RUNTIMES:
            guess = did_you_mean(n, list(RUNTIMES))
            hint = f"did you mean '{guess}'? " if guess else ""
            raise UsageError(f"unknown runtime '{n}'", hint=f"{hint}runtimes: {', '.join(RUNTIMES)}")
    if not names:
        raise UsageError("no runtime given", hint=f"runtimes: {', '.join(RUNTIMES)}")
    return list(dict.fromkeys(names))


def default_device() -> str:
    """``cuda`` when a GPU is visible to PyTorch, else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


# --------------------------------------------------------------------------------------------------
# pooling and the agreement check


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of the hidden states over the real tokens of each sentence."""
    m = mask[..., None].astype(np.float64)
    return (hidden.astype(np.float64) * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1.0)


def check_agreement(
    reference: Sequence[np.ndarray],
    candidate: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
    min_cosine: float,
) -> dict[str, Any]:
    """Compare two runtimes' hidden states batch by batch.

    Returns ``{"ok", "min_cosine", "mean_cosine", "threshold", "max_abs_diff", "n_sentences"}``; ``ok`` is
    true only when every sentence's mean-pooled embeddings have cosine >= ``min_cosine``.
    """
    cosines, max_abs = [], 0.0
    for ref, cand, mask in zip(reference, candidate, masks, strict=True):
        if ref.shape != cand.shape:
            return {
                "ok": False,
                "reason": f"output shape {tuple(cand.shape)} != eager {tuple(ref.shape)}",
                "threshold": min_cosine,
            }
        a, b = mean_pool(ref, mask), mean_pool(cand, mask)
        cos = (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-30)
        cosines.extend(cos.tolist())
        real = mask.astype(bool)
        diff = np.abs(ref.astype(np.float64) - cand.astype(np.float64))[real]
        if diff.size:
            max_abs = max(max_abs, float(diff.max()))
    c = np.asarray(cosines)
    ok = bool(c.size and np.all(np.isfinite(c)) and c.min() >= min_cosine)
    return {
        "ok": ok,
        "min_cosine": float(c.min()) if c.size else None,
        "mean_cosine": float(c.mean()) if c.size else None,
        "threshold": min_cosine,
        "max_abs_diff": max_abs,
        "n_sentences": int(c.size),
    }


# --------------------------------------------------------------------------------------------------
# runtimes


class TorchRuntime:
    """The PyTorch model (eager, or ``torch.compile``d) on a device."""

    def __init__(self, model, device: str = "cpu", dtype: str = "fp32", compile: bool = False):
        import torch

        torch_dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[dtype]
        set_sdpa(model)
        self.model = model.to(device=device, dtype=torch_dtype).eval()
        self.device, self.dtype = device, dtype
        self.name = "compile" if compile else ("eager" if dtype == "fp32" else f"eager-{dtype}")
        if compile:
            try:
                self.model = torch.compile(self.model)
            except Exception as e:  # noqa: BLE001 - any backend failure means "not available here"
                raise RuntimeUnavailable(f"torch.compile failed: {type(e).__name__}: {e}") from None
        self._torch = torch
        self.sync = torch.cuda.synchronize if device.startswith("cuda") else None

    def __call__(self, batch: Batch):
        torch = self._torch
        with torch.inference_mode():
            ids = torch.from_numpy(batch["input_ids"]).to(self.device)
            mask = torch.from_numpy(batch["attention_mask"]).to(self.device)
            return self.model(input_ids=ids, attention_mask=mask).last_hidden_state

    def hidden(self, batch: Batch) -> np.ndarray:
        """Last hidden states as float32 numpy."""
        return self(batch).float().cpu().numpy()


class OrtRuntime:
    """An ONNX Runtime session with fixed threads (intra-op = ``threads``, inter-op = 1); with
    ``profile_prefix`` ONNX Runtime's profiler writes ``<prefix>_<date>.json`` (``end_profiling()``)."""

    def __init__(
        self,
        path: str | Path,
        name: str,
        threads: int,
        device: str = "cpu",
        spin: bool = True,
        profile_prefix: str | None = None,
    ):
        import onnxruntime as ort

        providers = ["CPUExecutionProvider"]
        if device.startswith("cuda"):
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise RuntimeUnavailable(
                    "onnxruntime has no CUDAExecutionProvider here (pip install onnxruntime-gpu)"
                )
            index = int(device.split(":", 1)[1]) if ":" in device else 0
            providers = [("CUDAExecutionProvider", {"device_id": index}), "CPUExecutionProvider"]
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        if profile_prefix:
            so.enable_profiling = True
            so.profile_file_prefix = profile_prefix
        self.session = ort.InferenceSession(str(path), so, providers=providers)
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.name, self.device, self.threads, self.path = name, device, threads, Path(path)
        self.dtype = "int8" if name.endswith("int8") else "fp32"
        self.sync = None

    def __call__(self, batch: Batch) -> np.ndarray:
        return self.session.run(None, {k: batch[k] for k in self.inputs})[0]

    def hidden(self, batch: Batch) -> np.ndarray:
        return np.asarray(self(batch), dtype=np.float32)


@dataclass
class Prepared:
    """A runtime ready to time, with its files on disk (for the size) and how it was made."""

    runtime: Any
    files: list[Path]
    export: dict[str, Any] | None


def runtime_dtype(name: str, dtype: str = "fp32") -> str:
    """The precision a runtime computes in (``dtype`` is the bench's ``--dtype`` for eager/compile)."""
    if name in INT8_RUNTIMES:
        return "int8"
    if name == "eager-bf16":
        return "bf16"
    return dtype if name in ("eager", "compile") else "fp32"


def prepare_runtime(
    name: str, model, root: Path, threads: int, device: str = "cpu", dtype: str = "fp32", spin: bool = True
) -> Prepared:
    """Build runtime ``name`` for ``model`` (exports cached under ``root``).

    ``model`` is the eager fp32 model; for the torch runtimes it becomes the runtime itself (cast in place
    for ``eager-bf16``). A fused graph the optimizer cannot make raises :class:`RuntimeUnavailable`.
    """
    if name in TORCH_RUNTIMES:
        rt = TorchRuntime(model, device, runtime_dtype(name, dtype), compile=name == "compile")
        return Prepared(rt, [], None)
    if name in INT8_RUNTIMES and device.startswith("cuda"):
        raise RuntimeUnavailable(f"dynamic int8 ({name}) is a CPU runtime; on a GPU time eager/onnx-fp32")
    if name.startswith("onnx-fused"):
        try:
            path = export_fused(model, root)
        except FusionFailed as e:
            raise RuntimeUnavailable(str(e)) from None
        if name == "onnx-fused-int8":
            path = quantize_fused(path, root)
    else:
        path = export_onnx(model, root)
        if name == "onnx-int8":
            path = quantize_int8(path, root)
    info = json.loads((path.parent / "export.json").read_text(encoding="utf-8"))
    files = [p for p in path.parent.iterdir() if p.name not in ("export.json", "check.json")]
    return Prepared(OrtRuntime(path, name, threads, device, spin), files, info)


def files_mb(files: Sequence[Path]) -> float:
    """Total size of files in MiB."""
    return sum(p.stat().st_size for p in files) / 2**20
