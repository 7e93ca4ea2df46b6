"""Efficiency benchmark (``zoo bench``): throughput, latency, memory, size and energy of encoders on real
sentences, for eager PyTorch and checked ONNX Runtime fp32 / dynamic-int8 exports.

- :mod:`zoo.bench.protocol`: timing loop, median + bootstrap interval, foreign-load and memory meters.
- :mod:`zoo.bench.energy`: RAPL / NVML meters, labelled estimates, "not measured".
- :mod:`zoo.bench.runtimes`: runtimes, ONNX export + int8 quantisation (cached), agreement check.
- :mod:`zoo.bench.roofline`: matrix-multiply peak rates measured in the same run.
- :mod:`zoo.bench.run`: the sweep over models x runtimes writing results records.
- :mod:`zoo.bench.report`: the speed table from records (rich and markdown).
"""
