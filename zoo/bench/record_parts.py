"""The nested objects of a bench record (:class:`zoo.bench.record.BenchRecord`), above all its ``details``:
how the figures were measured (sweep points, load windows, agreement, export, roofline, thread policy).

Every part is a :class:`Part`: fields that older records or failed runtimes lack are Optional, and an
optional field that was never given is left out when written, so a record read and written again keeps
exactly its keys (a failed runtime's ``scores`` stays ``{}``).
"""

from __future__ import annotations

from zoo.schema import Part


class LoadSample(Part):
    """CPU use during one timed window (:class:`zoo.bench.protocol.LoadSample`)."""

    wall_s: float
    own_cpu_s: float
    foreign_cpu_s: float | None = None
    steal_s: float | None = None
    cpus: int
    foreign_cpus: float | None = None
    busy: bool | None = None


class Agreement(Part):
    """The check against the eager fp32 model (:func:`zoo.runtimes.check_agreement`)."""

    ok: bool
    min_cosine: float | None = None
    mean_cosine: float | None = None
    threshold: float | None = None
    max_abs_diff: float | None = None
    n_sentences: int | None = None
    reason: str | None = None
    reference: str | None = None


class Point(Part):
    """One batch size of the sweep."""

    batch_size: int
    sentences_per_s: float
    sentences_per_s_ci95: list[float]
    n_batches: int
    warmup: int
    latency_p50_ms: float
    latency_p95_ms: float
    energy_j: float | None = None
    load: LoadSample
    latency_only: bool | None = None


class SkippedPoint(Part):
    batch_size: int
    reason: str


class Tokenisation(Part):
    """Tokenisation alone, timed at the largest batch size."""

    batch_size: int
    sentences_per_s: float
    sentences_per_s_ci95: list[float]
    n_batches: int
    tokenizer: str
    load: LoadSample


class Protocol(Part):
    warmup_batches: int
    min_timed_batches: int
    statistic: str
    interval: str
    quick: bool
    point_budget_s: float | None = None


class Inputs(Part):
    """Where the sentences came from and what the timed pool holds."""

    files: list[str] | None = None
    lines: int | None = None
    shuffle_seed: int | None = None
    pool_sentences: int | None = None
    full_length_fraction: float | None = None
    real_tokens_per_sentence: float | None = None
    check_sentences: int | None = None
    ids_folded_into_vocab: int | None = None
    span_tokenizer: str | None = None  # peer pipelines
    text: str | None = None  # peer pipelines


class Roofline(Part):
    """Matrix-multiply peak rates (:func:`zoo.bench.roofline.measure_roofline`)."""

    shape_mkn: list[int]
    threads: int
    statistic: str
    fp32_gflops_torch: float | None = None
    fp32_gflops_ort: float | None = None
    int8_gops_ort: float | None = None
    bf16_gflops_torch: float | None = None
    load: LoadSample | None = None


class ThreadPolicy(Part):
    """Whether worker threads spin-wait (:func:`zoo.bench.config.decide_spin`)."""

    spin: bool
    decided: str
    omp_wait_policy: str
    omp_policy_effective: bool
    ort_allow_spinning: bool


class Quantization(Part):
    method: str
    per_channel: bool
    reduce_range: bool
    weight_type: str
    activations: str


class Optimizer(Part):
    """ONNX Runtime's transformer optimizer as the fused runtimes ran it (:mod:`zoo.onnx_fused`)."""

    method: str
    model_type: str
    num_heads: int
    hidden_size: int
    opt_level: int


class Export(Part):
    """The ``export.json`` of an ONNX runtime (:mod:`zoo.onnx_export`, :mod:`zoo.onnx_fused`)."""

    format: str
    precision: str
    exporter: str | None = None
    export_attention: str | None = None  # fused: the attention implementation exported
    opset: int | None = None
    optimizer: Optimizer | None = None
    fusions: dict[str, int] | None = None  # fused: the optimizer's non-zero fusion counts
    session_ops: dict[str, int] | None = None  # fused: operators of the graph the ORT session runs
    qattention: str | None = None
    inputs: list[str] | None = None
    output: str | None = None
    dynamic_axes: list[str] | None = None
    source: str | None = None
    quantization: Quantization | None = None
    versions: dict[str, str] | None = None
    files: list[str] | None = None


class BenchDetails(Part):
    """How the figures were measured. A failed runtime has only ``status``, ``reason`` and what was known."""

    status: str | None = None
    reason: str | None = None
    runtime: str | None = None
    device: str | None = None
    threads: int | None = None
    own_cpus: float | None = None  # peer pipelines: CPUs the process kept busy
    run_id: str | None = None
    dtype: str | None = None
    seq_len: int | None = None
    label: str | None = None  # shape baselines
    # peer pipelines (zoo.peers.spacy_pipeline.pipeline_details)
    library: str | None = None
    library_version: str | None = None
    package: str | None = None
    package_version: str | None = None
    load_time_s: float | None = None
    components: list[str] | None = None
    components_disabled: list[str] | None = None
    trained_on: list[str | None] | None = None
    xpos: str | None = None
    tokens_unit: str | None = None
    spacy_tokens_per_sentence: float | None = None
    # runtimes
    export: Export | None = None
    agreement: Agreement | None = None
    energy_method: str | None = None
    energy_note: str | None = None
    busy: bool | None = None
    busy_notes: list[str] | None = None
    busy_threshold: str | None = None
    max_foreign_cpus: float | None = None
    sweep: list[Point] | None = None
    sweep_skipped: list[SkippedPoint] | None = None
    tokenisation: Tokenisation | None = None
    memory_method: str | None = None
    disk: str | None = None
    ops_per_sentence: float | None = None
    achieved_gops: float | None = None
    roofline_gops: float | None = None
    roofline_after_sweep: Roofline | None = None
    roofline_fraction: float | None = None
    protocol: Protocol | None = None
    inputs: Inputs | None = None
    roofline: Roofline | None = None
    thread_policy: ThreadPolicy | None = None
