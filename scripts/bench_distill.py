"""Benchmark: distillation throughput (tokens/s) from the offline teacher into xs / s / m students.

One distillation step = teacher forward up to its layer L (no grad, stopped after Q/K/V), student forward,
relation loss, backward, fused AdamW step; batches of real corpus sequences (padded per batch). The
achieved FLOP/s is compared with this machine's peak, measured with a large fp32 matmul; the FLOP model is

- teacher: 2 x (non-embedding parameters used up to layer L's Q/K/V) x padded tokens + attention
  (4 x batch x n^2 x hidden per layer: Q Kᵀ and A V);
- student forward: the same for all its layers; backward = 2 x the forward of what the loss reaches (layers
  1..L-1 and the last layer's Q/K/V; the rest of the last layer is frozen);
- relations: 2 x batch x n^2 x hidden per relation and model (x3 for the student: forward + backward).
Embedding lookups, softmax, LayerNorm and the optimiser are not counted (they are memory-bound).

Run: ``python scripts/bench_distill.py [--lang xh] [--sizes xs,s,m] [--steps 5] [--threads N]
[--bf16-sizes xs]``. Prints markdown, one row per student as it finishes. bf16 autocast is timed on
``--bf16-sizes`` only (default xs, one step): CPUs without native bf16 (AVX-512 BF16 / AMX) run it far slower
than fp32. On a shared machine the numbers are noisy: rerun, and read the load average printed with them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from zoo import models, paths, registry
from zoo.distill.data import prepare_corpus
from zoo.distill.presets import get_preset
from zoo.distill.relation_loss import QKVCapture, capture_qkv, compatible_heads, relation_loss
from zoo.distill.student import build_student, freeze_unreachable, max_positions_of, student_config
from zoo.distill.trainer import DistillationCollator
from zoo.distill.vocab import prune_vocabulary
from zoo.results import environment
from zoo.teachers import OFFLINE_TEACHER_ID, load_teacher


def peak_flops(n: int = 2048, repeats: int = 5, dtype: torch.dtype = torch.float32) -> float:
    """Best-of-``repeats`` FLOP/s of an n x n matmul."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best


def layer_params(hidden: int, ffn: int) -> int:
    """Weights and biases of one BERT layer (attention + FFN + 2 LayerNorms)."""
    return 4 * (hidden * hidden + hidden) + 2 * hidden * ffn + ffn + hidden + 4 * hidden


def encoder_flops(b: int, n: int, hidden: int, ffn: int, full_layers: int, with_qkv: bool) -> float:
    """Forward FLOPs of ``full_layers`` BERT layers (+ the Q/K/V projections of the next) on [b, n] tokens,
    with the attention products Q Kᵀ and A V (4 b n² hidden per layer)."""
    params = full_layers * layer_params(hidden, ffn) + (3 * (hidden * hidden + hidden) if with_qkv else 0)
    return 2 * params * b * n + 4 * b * n * n * hidden * full_layers


def step_flops(batch: torch.Tensor, t_cfg, layer: int, s_cfg) -> float:
    """FLOPs of one distillation step on a padded batch [B, n] (see the module docstring). The student's
    backward covers what the loss reaches: layers 1..L-1 and the last layer's Q/K/V."""
    b, n = batch.shape
    th, sh, sl = t_cfg.hidden_size, s_cfg.hidden_size, s_cfg.num_hidden_layers
    relations_t, relations_s = 3 * 2 * b * n * n * th, 3 * 2 * b * n * n * sh
    teacher = encoder_flops(b, n, th, t_cfg.intermediate_size, layer - 1, True) + relations_t
    student_fwd = encoder_flops(b, n, sh, s_cfg.intermediate_size, sl, False) + relations_s
    student_bwd = 2 * (encoder_flops(b, n, sh, s_cfg.intermediate_size, sl - 1, True) + relations_s)
    return teacher + student_fwd + student_bwd


def bench_size(size: str, spec, teacher, t_tok, corpus, vocab, layer: int, heads_req: int, args) -> dict:
    shape = registry.SIZES[size]
    cfg = student_config(shape, t_tok, vocab.size, max_positions_of(teacher))
    student = build_student(cfg, 0)
    freeze_unreachable(student)
    student.train()
    heads = compatible_heads(heads_req, teacher.config.hidden_size, shape.hidden)
    opt = torch.optim.AdamW([p for p in student.parameters() if p.requires_grad], lr=1e-4, fused=True)
    collate = DistillationCollator(vocab.lookup(3), t_tok.pad_token_id, t_tok.pad_token_id)
    g = torch.Generator().manual_seed(0)
    rows = torch.randperm(len(corpus.train), generator=g)[: args.batch * (args.steps + args.warmup)].tolist()
    batches = [
        collate([corpus.train[i] for i in rows[k : k + args.batch]]) for k in range(0, len(rows), args.batch)
    ]
    t_cap = QKVCapture(teacher, layer, stop_after=True)
    s_cap = QKVCapture(student, -1)
    out = {"size": size, "params": models.count_parameters(student), "heads": heads}
    modes = ("fp32", "bf16") if size in args.bf16_sizes.split(",") else ("fp32",)
    for mode in modes:
        times, real, flops = [], 0, 0.0
        warmup = args.warmup if mode == "fp32" else 0
        steps = args.steps if mode == "fp32" else args.bf16_steps
        for k, batch in enumerate(batches[: warmup + steps]):
            ctx = (
                torch.autocast("cpu", dtype=torch.bfloat16)
                if mode == "bf16"
                else torch.autocast("cpu", enabled=False)
            )
            t = time.perf_counter()
            with ctx:
                with torch.no_grad():
                    t_qkv = capture_qkv(
                        teacher,
                        t_cap,
                        input_ids=batch["teacher_input_ids"],
                        attention_mask=batch["attention_mask"],
                    )
                student(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
                loss = relation_loss(t_qkv, s_cap.qkv, batch["attention_mask"], heads)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            if k >= warmup:
                times.append(time.perf_counter() - t)
                real += int(batch["attention_mask"].sum())
                flops += step_flops(batch["input_ids"], teacher.config, layer, student.config)
        total = sum(times)
        out[mode] = {
            "tokens_per_s": real / total,
            "flops_per_s": flops / total,
            "step_s_median": statistics.median(times),
        }
    t_cap.remove()
    s_cap.remove()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lang", default="xh")
    ap.add_argument("--sizes", default="xs,s,m")
    ap.add_argument("--steps", type=int, default=5, help="timed steps per size (after --warmup)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--bf16-sizes", default="xs", help="sizes to also time with bf16 autocast ('' for none)")
    ap.add_argument("--bf16-steps", type=int, default=1)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    spec = registry.get_language(args.lang)
    preset = get_preset("cpu")
    teacher, t_tok, _ = load_teacher(OFFLINE_TEACHER_ID)
    corpus = prepare_corpus(
        spec.corpus_files(paths.data_dir()),
        t_tok,
        preset.max_seq_len,
        preset.heldout_fraction,
        preset.heldout_max,
        preset.max_lines,
        preset.data_seed,
    )
    vocab = prune_vocabulary(t_tok, corpus.used_ids)
    ref = spec.teacher_offline
    peak = peak_flops(repeats=10)
    peak_bf16 = peak_flops(1024, 2, torch.bfloat16)
    env = environment()
    print(f"## Distillation throughput: {OFFLINE_TEACHER_ID} (layer {ref.layer}) -> students, {args.lang}\n")
    print(
        f"- machine: {env['cpu']}, {env['cpu_count']} cores, torch {env['libraries'].get('torch')}, "
        f"{torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.1f} (shared machine: noisy)"
    )
    print(
        f"- peak matmul: fp32 {peak / 1e9:.1f} GFLOP/s (2048^3), bf16 {peak_bf16 / 1e9:.1f} GFLOP/s (1024^3)"
    )
    print(
        f"- batch {args.batch} real corpus sequences of <= {preset.max_seq_len} tokens (padded per batch), "
        f"{args.steps} timed fp32 steps after {args.warmup} warm-up; vocabulary {vocab.size:,} pieces\n"
    )
    print(
        "| student | params (emb + enc) | relation heads | dtype | tokens/s | step s (median) | GFLOP/s "
        "| % of fp32 peak |"
    )
    print("|---|---|---|---|---|---|---|---|", flush=True)
    for size in args.sizes.split(","):
        r = bench_size(size, spec, teacher, t_tok, corpus, vocab, ref.layer, ref.relation_heads, args)
        p = r["params"]
        for m in ("fp32", "bf16"):
            if m not in r:
                continue
            params = f"{p['total'] / 1e6:.1f}M ({p['embedding'] / 1e6:.1f}M + {p['encoder'] / 1e6:.1f}M)"
            print(
                f"| {size} | {params} "
                f"| {r['heads']} | {m} | {r[m]['tokens_per_s']:.0f} | {r[m]['step_s_median']:.2f} "
                f"| {r[m]['flops_per_s'] / 1e9:.1f} | {100 * r[m]['flops_per_s'] / peak:.0f}% |",
                flush=True,
            )
    print(
        f"\npeak fp32 matmul after the runs: {peak_flops() / 1e9:.1f} GFLOP/s; "
        f"load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
