"""Inference runtimes for an encoder, the ONNX export behind the fast ones, and the agreement check.

Runtimes (each maps a batch ``{"input_ids", "attention_mask"}`` of int64 numpy arrays to the last hidden
states):

- ``eager``: the PyTorch model, ``attn_implementation="sdpa"``, under ``torch.inference_mode``.
- ``onnx-fp32``: ONNX Runtime on the exported graph (``torch.onnx.export``; the TorchScript-based exporter,
  ``dynamo=False``, exports a BERT in about a second and ORT fuses its graph fully; the dynamo exporter,
  which needs onnxscript and takes ~20 s, is the fallback). Dynamic batch and sequence axes, opset 17.
- ``onnx-int8``: ``onnxruntime.quantization.quantize_dynamic`` of that graph: int8 per-channel weights with
  7-bit range (``reduce_range``: no int16 saturation on AVX2/AVX-512 CPUs without VNNI), activations
  quantised on the fly. Embedding tables (``Gather``) are quantised too, which shrinks the file ~4x.
- ``compile``: ``torch.compile`` of the eager model (optional; needs a C++ compiler on CPU).

A runtime may only be timed after :func:`check_agreement` passed: cosine of mean-pooled embeddings against
the eager fp32 model of at least :data:`MIN_COSINE` (0.9999 fp32, 0.99 int8) on every sentence; the largest
absolute difference of a hidden state is recorded too.

Exports are cached under ``cache_dir()/onnx/<model>-<revision>/{fp32,int8}/`` (see :func:`export_root`),
each published atomically with an ``export.json`` (exporter, opset, library versions, files).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import ZooError
from zoo.fileio import atomic_dir, write_json_atomic
from zoo.paths import cache_dir
from zoo.results import slug

RUNTIMES = ("eager", "onnx-fp32", "onnx-int8", "compile")
MIN_COSINE = {
    "onnx-fp32": 0.9999,
    "onnx-int8": 0.99,
    "compile": 0.9999,
    "eager-fp16": 0.999,
    "eager-bf16": 0.99,
}
OPSET = 17
ONNX_FILE = "model.onnx"
LARGE_MODEL_BYTES = 1_800_000_000  # above this, weights go into one external-data file (protobuf's 2 GB cap)

Batch = dict[str, np.ndarray]


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
    """An ONNX Runtime session with fixed threads (intra-op = ``threads``, inter-op = 1)."""

    def __init__(self, path: str | Path, name: str, threads: int, device: str = "cpu", spin: bool = True):
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
        self.session = ort.InferenceSession(str(path), so, providers=providers)
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.name, self.device, self.threads = name, device, threads
        self.dtype = "int8" if name.endswith("int8") else "fp32"
        self.sync = None

    def __call__(self, batch: Batch) -> np.ndarray:
        return self.session.run(None, {k: batch[k] for k in self.inputs})[0]

    def hidden(self, batch: Batch) -> np.ndarray:
        return np.asarray(self(batch), dtype=np.float32)


def set_sdpa(model) -> None:
    """Use PyTorch's scaled-dot-product attention where the model supports it."""
    if getattr(model.config, "_attn_implementation", None) == "sdpa":
        return
    try:
        model.set_attn_implementation("sdpa")
    except (AttributeError, ValueError, ImportError):
        pass


# --------------------------------------------------------------------------------------------------
# export


def export_root(model_id: str, revision: str, config: dict | None = None, seed: int | None = None) -> Path:
    """Cache folder of a model's exports. Random-weight models are keyed by their config, seed and torch
    version (the same seed draws other weights in another torch)."""
    key = revision
    if revision == "random-init":
        import torch

        blob = json.dumps(
            {"config": config, "seed": seed, "torch": torch.__version__}, sort_keys=True, default=str
        )
        key = "random-" + hashlib.sha256(blob.encode()).hexdigest()[:12]
    return cache_dir() / "onnx" / f"{slug(model_id)}-{slug(key)}"


def _dummy_batch(model) -> tuple:
    import torch

    vocab = model.config.vocab_size
    ids = torch.randint(3, max(4, vocab), (2, 8), dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0  # a padded row, so the mask path is exported
    return ids, mask


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for name in ("torch", "transformers", "onnx", "onnxruntime", "onnxscript"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return out


def export_onnx(model, root: Path, force: bool = False) -> Path:
    """Export the encoder's last hidden state to ``root/fp32/model.onnx`` (cached; atomic). Returns it."""
    import torch

    final = root / "fp32"
    if (final / "export.json").is_file() and not force:
        return final / ONNX_FILE

    class LastHidden(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            return self.m(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    set_sdpa(model)
    was_training = model.training
    wrapper = LastHidden(
        model.float().cpu()
    ).eval()  # eval: the exporter restores the wrapper's mode afterwards
    args = _dummy_batch(model)
    names = {"input_names": ["input_ids", "attention_mask"], "output_names": ["last_hidden_state"]}
    n_bytes = sum(p.numel() * 4 for p in model.parameters())
    with atomic_dir(final, overwrite=True) as tmp:
        raw = tmp / "raw"
        raw.mkdir()
        exporter, errors = None, []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                torch.onnx.export(
                    wrapper,
                    args,
                    str(raw / ONNX_FILE),
                    dynamo=False,
                    opset_version=OPSET,
                    dynamic_axes={
                        "input_ids": {0: "batch", 1: "seq"},
                        "attention_mask": {0: "batch", 1: "seq"},
                        "last_hidden_state": {0: "batch", 1: "seq"},
                    },
                    **names,
                )
                exporter = "torchscript (dynamo=False)"
            except Exception as e:  # noqa: BLE001 - try the other exporter
                errors.append(f"torchscript: {type(e).__name__}: {e}")
            if exporter is None:
                from torch.export import Dim

                b, s = Dim("batch"), Dim("seq", min=1, max=4096)
                try:
                    torch.onnx.export(
                        wrapper,
                        args,
                        str(raw / ONNX_FILE),
                        dynamo=True,
                        opset_version=max(OPSET, 18),
                        dynamic_shapes={"input_ids": {0: b, 1: s}, "attention_mask": {0: b, 1: s}},
                        external_data=n_bytes > LARGE_MODEL_BYTES,
                        verbose=False,
                        **names,
                    )
                    exporter = "dynamo (torch.export)"
                except Exception as e:  # noqa: BLE001
                    errors.append(f"dynamo: {type(e).__name__}: {e}")
                    raise ZooError("ONNX export failed with both exporters: " + " | ".join(errors)) from None
        model.train(was_training)
        _consolidate(raw / ONNX_FILE, tmp / ONNX_FILE, large=n_bytes > LARGE_MODEL_BYTES)
        import shutil

        shutil.rmtree(raw)
        write_json_atomic(
            tmp / "export.json",
            {
                "format": "onnx",
                "precision": "fp32",
                "exporter": exporter,
                "opset": OPSET,
                "inputs": names["input_names"],
                "output": "last_hidden_state",
                "dynamic_axes": ["batch", "seq"],
                "versions": _versions(),
                "files": sorted(p.name for p in tmp.iterdir() if p.name != "export.json"),
            },
        )
    return final / ONNX_FILE


def _consolidate(src: Path, dst: Path, large: bool) -> None:
    """Re-save an exported graph as one file, or one graph + one weights file for models over ~2 GB."""
    import onnx

    m = onnx.load(str(src), load_external_data=True)
    if large:
        onnx.save_model(
            m,
            str(dst),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=ONNX_FILE + ".data",
            size_threshold=1024,
        )
    else:
        onnx.save_model(m, str(dst))


def quantize_int8(fp32_path: Path, root: Path, force: bool = False) -> Path:
    """Dynamic int8 quantisation of an exported graph into ``root/int8/model.onnx`` (cached; atomic)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    final = root / "int8"
    if (final / "export.json").is_file() and not force:
        return final / ONNX_FILE
    large = sum(p.stat().st_size for p in fp32_path.parent.iterdir()) > LARGE_MODEL_BYTES * 2
    options = {"per_channel": True, "reduce_range": True, "weight_type": "QInt8"}
    with atomic_dir(final, overwrite=True) as tmp:
        import logging

        logging.getLogger().setLevel(
            logging.ERROR
        )  # quantize_dynamic warns about pre-processing on root logger
        quantize_dynamic(
            str(fp32_path),
            str(tmp / ONNX_FILE),
            per_channel=True,
            reduce_range=True,
            weight_type=QuantType.QInt8,
            use_external_data_format=large,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        write_json_atomic(
            tmp / "export.json",
            {
                "format": "onnx",
                "precision": "int8 (dynamic)",
                "source": str(fp32_path),
                "quantization": {
                    "method": "onnxruntime.quantization.quantize_dynamic",
                    **options,
                    "activations": "uint8, per batch (dynamic)",
                },
                "versions": _versions(),
                "files": sorted(p.name for p in tmp.iterdir() if p.name != "export.json"),
            },
        )
    return final / ONNX_FILE


@dataclass
class Prepared:
    """A runtime ready to time, with its files on disk (for the size) and how it was made."""

    runtime: Any
    files: list[Path]
    export: dict[str, Any] | None


def prepare_runtime(
    name: str, model, root: Path, threads: int, device: str = "cpu", dtype: str = "fp32", spin: bool = True
) -> Prepared:
    """Build runtime ``name`` for ``model`` (exports cached under ``root``).

    ``model`` is the eager fp32 model; for ``eager``/``compile`` it becomes the runtime itself.
    """
    if name in ("eager", "compile"):
        return Prepared(TorchRuntime(model, device, dtype, compile=name == "compile"), [], None)
    if name == "onnx-int8" and device.startswith("cuda"):
        raise RuntimeUnavailable("dynamic int8 (onnx-int8) is a CPU runtime; on a GPU time eager/onnx-fp32")
    path = export_onnx(model, root)
    if name == "onnx-int8":
        path = quantize_int8(path, root)
    info = json.loads((path.parent / "export.json").read_text(encoding="utf-8"))
    files = [p for p in path.parent.iterdir() if p.name != "export.json"]
    return Prepared(OrtRuntime(path, name, threads, device, spin), files, info)


def files_mb(files: Sequence[Path]) -> float:
    """Total size of files in MiB."""
    return sum(p.stat().st_size for p in files) / 2**20
