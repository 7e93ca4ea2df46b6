"""How many fine-tuning runs ``zoo eval`` runs at once on this CPU (``--jobs auto``): a short timed probe.

Two one-thread runs at once did about 1.3x the work of one two-thread run on a 2-core AMD EPYC with AVX-512
(session 14, MasakhaNER epochs), about 1.14x on a 2-core EPYC listing AVX2 only (session 16, MasakhaPOS
epochs of ~28 s on one thread against ~16 s on two), and 0.9x on the AVX2 EPYC of session 2: the answer is
the machine's, so it is measured there, as the fine-tuning numerics are (:mod:`zoo.evaluation.numerics`).

The probe trains the architecture of the largest model left to fine-tune (random weights from its config:
timed only, never scored) on one synthetic batch of :data:`PROBE_BATCH` x :data:`PROBE_TOKENS` tokens, in
spawned processes: for each candidate N (1, 2, 4, ... up to the CPUs, at most :data:`MAX_JOBS`), N processes
at once with ``CPUs // N`` torch threads each, every one taking the fine-tuning loop's step (a
token-classification loss, backward, gradient clipping, fused AdamW) for ``window_s`` seconds after one
untimed step, all starting together. A candidate's throughput is the steps
per second summed over its processes. A larger N is kept only when it beats the best smaller one by
:data:`MIN_GAIN`: a margin for the probe's noise and for the end of a list of runs, when fewer runs are left
than workers (session 17, AVX2 EPYC: the probe read 1.10-1.22x for the xs student and 1.14-1.17x for the
teacher where real MasakhaPOS runs did 1.12x and 1.10x). On a GPU, or with one CPU, the answer is 1 without a
probe.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from zoo.errors import UsageError, ZooError

MIN_GAIN = 1.1  # a larger N must do this many times the work of the best smaller N
MAX_JOBS = 4  # candidates stop here (memory: every process holds the model, its gradients and AdamW state)
PROBE_BATCH, PROBE_TOKENS = 32, 32  # the synthetic batch: the standard preset's 32 sentences, ~a NER sentence
PROBE_LABELS = 9  # a token-classification head of MasakhaNER's size
WINDOW_S = 4.0  # seconds each candidate's processes step for
NUMBER_HINT = "give --jobs a number, not auto"
START_TIMEOUT_S = 300.0  # a probe process that has not built its model by then has failed


@dataclass
class JobsChoice:
    """The number of runs at once and why: ``mode`` ``set`` (given) or ``auto`` (probed, or needing none)."""

    jobs: int
    mode: str
    steps_per_s: dict[int, float] = field(default_factory=dict)  # candidate N -> training steps/s, all N
    model: str | None = None  # whose architecture the probe trained
    why: str = ""
    window_s: float | None = None  # how long each candidate was timed

    def as_dict(self) -> dict[str, Any]:
        """The choice as records and the run manifest keep it."""
        out: dict[str, Any] = {"jobs": self.jobs, "mode": self.mode}
        if self.steps_per_s:
            out["probe"] = {
                "model": self.model,
                "batch": [PROBE_BATCH, PROBE_TOKENS],
                "window_s": self.window_s,
                "steps_per_s": {str(n): round(v, 3) for n, v in sorted(self.steps_per_s.items())},
            }
        if self.why:
            out["why"] = self.why
        return out

    def line(self) -> str:
        """One line for the log: the choice and its evidence."""
        if not self.steps_per_s:
            return f"jobs: {self.jobs} ({self.why or self.mode})"
        base = self.steps_per_s[1]
        rates = sorted(self.steps_per_s.items())
        timed = ", ".join(f"{n} at once {v / base:.2f}x" for n, v in rates if n > 1)
        return f"jobs: {self.jobs} (probe on {self.model}: {timed} the work of one run on every CPU)"


def parse_jobs(text: str | int) -> int | str:
    """``--jobs``: a positive integer, or ``auto``."""
    value = str(text).strip().lower()
    if value == "auto":
        return "auto"
    if value.isdigit() and int(value) >= 1:
        return int(value)
    raise UsageError(
        f"--jobs must be a positive integer or 'auto', not {text!r}",
        hint="--jobs auto times the candidates on this machine; --jobs 1 runs one at a time",
    )


def candidates(cpus: int) -> list[int]:
    """Runs at once worth timing: 1, 2, 4, ... up to ``cpus`` and :data:`MAX_JOBS`."""
    out, n = [1], 2
    while n <= min(cpus, MAX_JOBS):
        out.append(n)
        n *= 2
    return out


def pick_jobs(steps_per_s: dict[int, float], min_gain: float = MIN_GAIN) -> int:
    """The candidate kept: from 1 upwards, a larger N replaces the best so far only when its throughput is at
    least ``min_gain`` times that one's."""
    best = 1
    for n in sorted(steps_per_s):
        if n > best and steps_per_s[n] >= min_gain * steps_per_s[best]:
            best = n
    return best


def choose_jobs(
    jobs: int | str, config: Any = None, model_id: str | None = None, window_s: float | None = None
) -> JobsChoice:
    """``jobs`` as given, or for ``auto`` the probe's choice for training the architecture ``config`` (a
    transformers config) on this machine (each candidate timed for ``window_s``, default :data:`WINDOW_S`)."""
    if jobs != "auto":
        return JobsChoice(int(jobs), "set")
    import torch

    from zoo.bench.protocol import n_cpus

    if torch.cuda.is_available():
        return JobsChoice(1, "auto", why="a GPU: one run at a time")
    cpus = n_cpus()
    if cpus < 2 or config is None:
        why = "one CPU" if cpus < 2 else "no model to fine-tune"
        return JobsChoice(1, "auto", why=why)
    rates = measure(config.to_dict(), candidates(cpus), cpus, window_s or WINDOW_S)
    return JobsChoice(pick_jobs(rates), "auto", rates, model_id, window_s=window_s or WINDOW_S)


def measure(config: dict[str, Any], jobs_options: list[int], cpus: int, window_s: float) -> dict[int, float]:
    """Training steps/s of each candidate N: N spawned processes at once, ``cpus // N`` threads each."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    rates: dict[int, float] = {}
    for n in jobs_options:
        barrier, results = context.Barrier(n), context.Queue()
        args = (config, max(1, cpus // n), window_s, barrier, results)
        procs = [context.Process(target=_probe_worker, args=args, daemon=True) for _ in range(n)]
        for p in procs:
            p.start()
        try:
            got = _answers(results, procs, time.monotonic() + START_TIMEOUT_S + 10 * window_s)
        finally:
            for p in procs:
                p.join(timeout=5)
                if p.is_alive():
                    p.kill()
        if errors := [g for g in got if isinstance(g, str)]:
            raise ZooError(f"the --jobs probe failed: {errors[0]}", hint=NUMBER_HINT)
        rates[n] = float(sum(got))
    return rates


def _answers(results: Any, procs: list[Any], deadline: float) -> list[float | str]:
    """One answer per probe process; a process that died without one (or the deadline) is an error."""
    import queue

    got: list[float | str] = []
    while len(got) < len(procs):
        try:
            got.append(results.get(timeout=1.0))
        except queue.Empty:
            dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            if dead or time.monotonic() > deadline:
                why = f"a probe process exited with code {dead[0]}" if dead else "no answer in time"
                raise ZooError(f"the --jobs probe failed: {why}", hint=NUMBER_HINT) from None
    return got


def _probe_worker(config: dict[str, Any], threads: int, window_s: float, barrier: Any, out: Any) -> None:
    """In a probe process: train the architecture on the synthetic batch; steps/s (or an error) to ``out``."""
    try:
        import torch
        from transformers import AutoConfig, AutoModelForTokenClassification

        torch.set_num_threads(threads)
        torch.manual_seed(0)
        fields = {k: v for k, v in config.items() if k not in ("id2label", "label2id")}
        cfg = AutoConfig.for_model(**fields, num_labels=PROBE_LABELS)
        model = AutoModelForTokenClassification.from_config(cfg)
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
        ids = torch.randint(5, cfg.vocab_size, (PROBE_BATCH, PROBE_TOKENS))
        labels = torch.randint(0, PROBE_LABELS, (PROBE_BATCH, PROBE_TOKENS))

        def step() -> None:  # the fine-tuning loop's step (zoo.evaluation.finetune.fit)
            loss = model(input_ids=ids, labels=labels).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()

        step()  # untimed: first-call allocations
        barrier.wait(timeout=START_TIMEOUT_S)
        t0, steps = time.perf_counter(), 0
        while True:
            step()
            steps += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= window_s and steps >= 2:
                break
        out.put(steps / elapsed)
    except Exception as e:  # noqa: BLE001 - reported to the parent, which raises a ZooError
        out.put(f"{type(e).__name__}: {e}")
        try:
            barrier.abort()
        except Exception:  # noqa: BLE001
            pass
