"""Efficiency benchmark (``zoo bench``): throughput, latency, memory, size and energy of encoders on real
sentences, for eager PyTorch (fp32, bf16) and checked ONNX Runtime fp32 / dynamic-int8 exports, plain and
fused (:mod:`zoo.runtimes`).

- :mod:`zoo.bench.config`: what to measure (runtimes, lengths, batch sizes, threads), which models, spinning.
- :mod:`zoo.bench.inputs`: real corpus sentences tokenised into the timed pool and the agreement batches.
- :mod:`zoo.bench.protocol`: timing loop, median + bootstrap interval, foreign-load and memory meters.
- :mod:`zoo.bench.energy`: RAPL / NVML meters, labelled estimates, "not measured".
- :mod:`zoo.bench.roofline`: matrix-multiply peak rates measured in the same run.
- :mod:`zoo.bench.sweep`: the batch-size sweep of one runtime.
- :mod:`zoo.bench.measure`: one model: reference and exports, then each runtime checked and timed.
- :mod:`zoo.bench.peer`: a peer pipeline (spaCy) timed by the same protocol.
- :mod:`zoo.bench.record`: the typed bench record (:class:`~zoo.bench.record.BenchRecord`), its store I/O.
- :mod:`zoo.bench.run`: the whole run over models x runtimes, writing one record per pair.
- :mod:`zoo.bench.tables`: the speed table from records (rich and markdown).
- :mod:`zoo.bench.choice`: the best checked runtime per batch size and sequence length, and the rule
  ``FastEncoder.from_pretrained(runtime="auto")`` shares.
"""
