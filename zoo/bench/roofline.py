"""What the hardware can do: matrix-multiply throughput measured in the same run as the models.

A model's *roofline fraction* is its achieved arithmetic rate (sentences/s x operations per sentence) divided
by the rate of one large matrix multiply in the same precision and library on the same threads:
``torch.matmul`` fp32 for PyTorch runtimes (bf16 for ``eager-bf16``), an ONNX Runtime ``MatMul`` for
``onnx-fp32`` / ``onnx-fused-fp32`` and its dynamic int8 quantisation (``DynamicQuantizeLinear`` +
``MatMulInteger``, as in the quantised encoder) for ``onnx-int8`` / ``onnx-fused-int8``. Operations count
a multiply-add as two. The peak is measured at the start of a run and again right after each runtime's sweep
(the load drifts); the higher one counts. It is the fastest run while the model's rate is a median over
batches, so on a machine with fluctuating load the fraction errs low.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from zoo.bench.protocol import CpuLoadMonitor

KINDS = ("fp32_gflops_torch", "fp32_gflops_ort", "int8_gops_ort")
BF16 = "bf16_gflops_torch"  # measured only when a bf16 runtime is timed (slow where the CPU lacks bf16)


def encoder_ops_per_token(config, seq_len: int) -> float:
    """Multiply-add operations (x2) per token of a BERT-style encoder: projections, FFN and attention."""
    h = config.hidden_size
    ffn = getattr(config, "intermediate_size", 4 * h)
    layers = config.num_hidden_layers
    per_layer = 2 * (4 * h * h + 2 * h * ffn) + 2 * 2 * seq_len * h  # QKVO + FFN + (QK^T, AV)
    return float(layers * per_layer)


def _time(fn, min_runs: int, min_seconds: float) -> list[float]:
    import time

    fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def _matmul_graph(path: Path, k: int, n: int, seed: int = 0) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = (np.random.default_rng(seed).standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["m", k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["m", n])],
        [numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save_model(model, str(path))


def measure_roofline(
    threads: int,
    m: int = 2048,
    k: int = 1024,
    n: int = 4096,
    min_runs: int = 10,
    min_seconds: float = 2.0,
    spin: bool = True,
    kinds: tuple[str, ...] = KINDS,
) -> dict[str, Any]:
    """GFLOP/s of fp32 (torch, ORT) and GOP/s of ORT dynamic int8 for an ``m x k @ k x n`` multiply: the
    fastest of at least ``min_runs`` runs and ``min_seconds`` (a peak, so the least disturbed run counts).
    ``kinds`` picks which of :data:`KINDS` (and :data:`BF16`) to measure."""
    import logging

    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    ops = 2.0 * m * k * n
    out: dict[str, Any] = {
        "shape_mkn": [m, k, n],
        "threads": threads,
        "statistic": "fastest run (a peak rate)",
    }
    monitor = CpuLoadMonitor()
    monitor.start()
    if "fp32_gflops_torch" in kinds:
        a = torch.randn(m, k)
        b = torch.randn(k, n)
        with torch.inference_mode():
            out["fp32_gflops_torch"] = ops / min(_time(lambda: a @ b, min_runs, min_seconds)) / 1e9
    if BF16 in kinds:
        a16, b16 = torch.randn(m, k, dtype=torch.bfloat16), torch.randn(k, n, dtype=torch.bfloat16)
        with torch.inference_mode():
            out[BF16] = ops / min(_time(lambda: a16 @ b16, min_runs, min_seconds)) / 1e9
    x = np.random.default_rng(1).standard_normal((m, k)).astype(np.float32)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    with tempfile.TemporaryDirectory(prefix="zoo-roofline-") as tmp:
        fp32, int8 = Path(tmp) / "mm.onnx", Path(tmp) / "mm-int8.onnx"
        _matmul_graph(fp32, k, n)
        logging.getLogger().setLevel(logging.ERROR)
        quantize_dynamic(
            str(fp32), str(int8), per_channel=True, reduce_range=True, weight_type=QuantType.QInt8
        )
        for key, path in (("fp32_gflops_ort", fp32), ("int8_gops_ort", int8)):
            if key not in kinds:
                continue
            sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
            out[key] = ops / min(_time(lambda s=sess: s.run(None, {"x": x}), min_runs, min_seconds)) / 1e9
    out["load"] = monitor.stop().as_dict()
    for key in kinds:
        out[key] = round(out[key], 1)
    return out


def roofline_key(runtime: str) -> str:
    """Which peak a runtime is compared with."""
    if runtime.endswith("int8"):
        return "int8_gops_ort"
    if runtime.startswith("onnx"):
        return "fp32_gflops_ort"
    return BF16 if runtime == "eager-bf16" else "fp32_gflops_torch"


def roofline_for(runtime: str, *rooflines: dict[str, Any] | None) -> float | None:
    """The peak rate (GOP/s) a runtime is compared with: the highest of the given measurements."""
    values = [r.get(roofline_key(runtime)) for r in rooflines if r]
    values = [v for v in values if v]
    return max(values) if values else None
