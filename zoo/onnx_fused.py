"""The fused ONNX graph behind ``onnx-fused-fp32`` / ``onnx-fused-int8`` (:mod:`zoo.runtimes`).

- fp32: the encoder exported with *eager* attention (the explicit ``softmax(QK^T)V`` pattern; ONNX Runtime's
  attention fusion does not match the graph of PyTorch's SDPA), then
  ``onnxruntime.transformers.optimizer.optimize_model(model_type="bert", opt_level=0)``: its Python fusions
  only (attention, skip-layer-norm, bias-GELU, embed-layer-norm where the graph allows), so the saved graph
  stays hardware-independent; the session still applies ONNX Runtime's own optimisations when it loads.
  ``model_type="bert"`` serves RoBERTa-style graphs too (XLM-R): their positions come from a cumulative sum
  of the mask, so there the embeddings keep a plain ``LayerNormalization`` (no ``EmbedLayerNormalization``).
- int8: :func:`zoo.onnx_export.quantize_int8` of the fused graph (``Attention`` -> ``QAttention``,
  ``EmbedLayerNormalization`` -> ``QEmbedLayerNormalization``, ``MatMul`` -> ``MatMulInteger``; ORT's
  session then fuses each ``DynamicQuantizeLinear`` + ``MatMulInteger`` + scale into
  ``DynamicQuantizeMatMul`` / ``MatMulIntegerToFloat``).

Each ``export.json`` records the fusions the optimizer applied (``get_fused_operator_statistics``, non-zero
counts) and the operators of the graph the ONNX Runtime session actually runs (``session_ops``). A graph
with no attention fusion raises :class:`FusionFailed` (the runtime is then unavailable for that model).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from zoo.errors import ZooError
from zoo.fileio import atomic_dir, write_json_atomic
from zoo.onnx_export import (
    LARGE_MODEL_BYTES,
    ONNX_FILE,
    OPSET,
    export_graph,
    is_large,
    quantize_int8,
    versions,
)

OPT_LEVEL = 0
FUSED_FP32, FUSED_INT8 = "fused-fp32", "fused-int8"


class FusionFailed(ZooError):
    """ONNX Runtime's transformer optimizer could not fuse this model's graph."""


def session_ops(path: Path) -> dict[str, int] | None:
    """Operator counts of the graph an ONNX Runtime CPU session runs (after its own ``ORT_ENABLE_ALL``
    fusions); None for graphs over ~2 GB (the optimised copy would need external data)."""
    import onnx
    import onnxruntime as ort

    if sum(p.stat().st_size for p in path.parent.iterdir()) > LARGE_MODEL_BYTES:
        return None
    with tempfile.TemporaryDirectory(prefix="zoo-ort-") as tmp:
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.optimized_model_filepath = str(Path(tmp) / ONNX_FILE)
        so.log_severity_level = 3
        ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        graph = onnx.load(so.optimized_model_filepath, load_external_data=False).graph
        return dict(sorted(Counter(n.op_type for n in graph.node).items()))


def export_fused(model, root: Path, force: bool = False) -> Path:
    """Export ``model`` with eager attention and fuse it into ``root/fused-fp32/model.onnx`` (cached;
    atomic). Raises :class:`FusionFailed` when the optimizer fails or fuses no attention."""
    import logging

    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    final = root / FUSED_FP32
    if (final / "export.json").is_file() and not force:
        return final / ONNX_FILE
    if model is None:
        raise FusionFailed(f"no fused export in {final} and no model to export")
    cfg = model.config
    heads, hidden = cfg.num_attention_heads, cfg.hidden_size
    large = is_large(model)
    with atomic_dir(final, overwrite=True) as tmp:
        raw = tmp / "raw.onnx"
        logging.getLogger("onnxruntime.transformers").setLevel(logging.ERROR)
        try:
            exporter = export_graph(model, raw, attention="eager")
            opt = optimize_model(
                str(raw),
                model_type="bert",
                num_heads=heads,
                hidden_size=hidden,
                optimization_options=FusionOptions("bert"),
                opt_level=OPT_LEVEL,
            )
        except Exception as e:  # noqa: BLE001 - any export/optimizer failure: no fused runtime for this model
            raise FusionFailed(f"fused export failed: {type(e).__name__}: {e}") from None
        fused = {k: v for k, v in opt.get_fused_operator_statistics().items() if v}
        if not (fused.get("Attention") or fused.get("MultiHeadAttention")):
            raise FusionFailed(f"transformer optimizer fused no attention (fusions: {fused or 'none'})")
        opt.save_model_to_file(str(tmp / ONNX_FILE), use_external_data_format=large)
        for p in tmp.glob("raw.onnx*"):
            p.unlink()
        write_json_atomic(
            tmp / "export.json",
            {
                "format": "onnx",
                "precision": "fp32",
                "exporter": exporter,
                "export_attention": "eager",
                "opset": OPSET,
                "optimizer": {
                    "method": "onnxruntime.transformers.optimizer.optimize_model",
                    "model_type": "bert",
                    "num_heads": heads,
                    "hidden_size": hidden,
                    "opt_level": OPT_LEVEL,
                },
                "fusions": fused,
                "session_ops": session_ops(tmp / ONNX_FILE),
                "versions": versions(),
                "files": sorted(p.name for p in tmp.iterdir() if p.name != "export.json"),
            },
        )
    return final / ONNX_FILE


def quantize_fused(fused_path: Path, root: Path, force: bool = False) -> Path:
    """Dynamic int8 of the fused graph into ``root/fused-int8/`` (cached); its ``export.json`` carries the
    fused graph's fusions and the int8 session's operators."""
    import json

    final = root / FUSED_INT8
    if (final / "export.json").is_file() and not force:
        return final / ONNX_FILE
    src: dict[str, Any] = json.loads((fused_path.parent / "export.json").read_text(encoding="utf-8"))
    extra = {
        "fusions": src.get("fusions"),
        "optimizer": src.get("optimizer"),
        "qattention": "QAttention weights: per-channel, reduce_range (fixed by onnxruntime's quantizer)",
    }
    path = quantize_int8(fused_path, root, force=True, sub=FUSED_INT8, extra=extra)
    info = json.loads((path.parent / "export.json").read_text(encoding="utf-8"))
    info["session_ops"] = session_ops(path)
    write_json_atomic(path.parent / "export.json", info)
    return path
