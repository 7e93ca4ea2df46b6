"""The ONNX export behind the fast runtimes of :mod:`zoo.runtimes`, and its dynamic int8 quantisation.

- fp32: ``torch.onnx.export`` of the encoder's last hidden state. The TorchScript-based exporter
  (``dynamo=False``) exports a BERT in about a second and ORT fuses its graph fully; the dynamo exporter,
  which needs onnxscript and takes ~20 s, is the fallback. Dynamic batch and sequence axes, opset 17.
- int8: ``onnxruntime.quantization.quantize_dynamic`` of that graph: int8 per-channel weights with 7-bit range
  (``reduce_range``: no int16 saturation on AVX2/AVX-512 CPUs without VNNI), activations quantised on the fly.
  Embedding tables (``Gather``) are quantised too, which shrinks the file ~4x.

Exports are cached under ``cache_dir()/onnx/<model>-<revision>/{fp32,int8}/`` (see :func:`export_root`),
each published atomically with an ``export.json`` (exporter, opset, library versions, files).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

from zoo.errors import ZooError
from zoo.fileio import atomic_dir, write_json_atomic
from zoo.paths import cache_dir
from zoo.results import slug

OPSET = 17
INPUT_NAMES = ("input_ids", "attention_mask")
ONNX_FILE = "model.onnx"
LARGE_MODEL_BYTES = 1_800_000_000  # above this, weights go into one external-data file (protobuf's 2 GB cap)


def set_sdpa(model) -> None:
    """Use PyTorch's scaled-dot-product attention where the model supports it (before export, and in the
    eager runtime of :mod:`zoo.runtimes`)."""
    if getattr(model.config, "_attn_implementation", None) == "sdpa":
        return
    try:
        model.set_attn_implementation("sdpa")
    except (AttributeError, ValueError, ImportError):
        pass


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


def versions() -> dict[str, str]:
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
    final = root / "fp32"
    if (final / "export.json").is_file() and not force:
        return final / ONNX_FILE
    with atomic_dir(final, overwrite=True) as tmp:
        exporter = export_graph(model, tmp / ONNX_FILE)
        write_json_atomic(
            tmp / "export.json",
            {
                "format": "onnx",
                "precision": "fp32",
                "exporter": exporter,
                "opset": OPSET,
                "inputs": list(INPUT_NAMES),
                "output": "last_hidden_state",
                "dynamic_axes": ["batch", "seq"],
                "versions": versions(),
                "files": sorted(p.name for p in tmp.iterdir() if p.name != "export.json"),
            },
        )
    return final / ONNX_FILE


def is_large(model) -> bool:
    """Whether a model's fp32 weights need ONNX external data (protobuf's 2 GB cap)."""
    return sum(p.numel() * 4 for p in model.parameters()) > LARGE_MODEL_BYTES


def export_graph(model, dst: Path, attention: str = "sdpa") -> str:
    """``torch.onnx.export`` of the last hidden state to the file ``dst`` (one file, or one graph + one
    weights file for models over ~2 GB), with ``attention`` as the attention implementation during the
    export (restored to SDPA after). Returns the exporter used."""
    import shutil

    import torch

    class LastHidden(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            return self.m(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    if attention == "sdpa":
        set_sdpa(model)
    else:
        model.set_attn_implementation(attention)
    was_training = model.training
    wrapper = LastHidden(model.float().cpu()).eval()  # the exporter restores the wrapper's mode afterwards
    args = _dummy_batch(model)
    names = {"input_names": list(INPUT_NAMES), "output_names": ["last_hidden_state"]}
    large = is_large(model)
    raw = dst.parent / (dst.name + ".raw")
    raw.mkdir()
    exporter, errors = None, []
    try:
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
                        external_data=large,
                        verbose=False,
                        **names,
                    )
                    exporter = "dynamo (torch.export)"
                except Exception as e:  # noqa: BLE001
                    errors.append(f"dynamo: {type(e).__name__}: {e}")
                    raise ZooError("ONNX export failed with both exporters: " + " | ".join(errors)) from None
        _consolidate(raw / ONNX_FILE, dst, large=large)
    finally:
        model.train(was_training)
        if attention != "sdpa":
            set_sdpa(model)
        shutil.rmtree(raw, ignore_errors=True)
    return exporter


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
            location=dst.name + ".data",
            size_threshold=1024,
        )
    else:
        onnx.save_model(m, str(dst))


def quantize_int8(
    fp32_path: Path, root: Path, force: bool = False, sub: str = "int8", extra: dict | None = None
) -> Path:
    """Dynamic int8 quantisation of an exported graph into ``root/<sub>/model.onnx`` (cached; atomic);
    ``extra`` is added to its ``export.json``."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    final = root / sub
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
                **(extra or {}),
                "versions": versions(),
                "files": sorted(p.name for p in tmp.iterdir() if p.name != "export.json"),
            },
        )
    return final / ONNX_FILE
