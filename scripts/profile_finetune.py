"""Where one fine-tuning step's time goes: forward, backward and the optimizer step, per model and task.

Times ``--steps`` real training batches (length-grouped as ``fit`` does) of a task's train split in fp32 and
under bf16 autocast, with the full embedding matrix and with the task's rows only (the compaction
``zoo eval`` applies). The numbers are for this machine only: compare rows of one run.

    python scripts/profile_finetune.py --lang xh --model time-xh-xs --task masakhaner
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time


def _encoded(model_arg: str, lang: str, task_name: str, max_length: int):
    from transformers import AutoModelForTokenClassification, DataCollatorForTokenClassification

    from zoo.evaluation.heads import load_head_model, load_tokenizer
    from zoo.evaluation.presets import PRESETS
    from zoo.evaluation.splits import load_task_splits
    from zoo.evaluation.tagging import encode_words
    from zoo.models import resolve_models
    from zoo.registry import get_language

    spec = get_language(lang)
    task = spec.task(task_name)
    if task.family not in ("ner", "pos"):
        raise SystemExit("profile_finetune.py profiles token tasks (ner, pos)")
    [ref] = resolve_models(spec, [model_arg])
    splits = load_task_splits(task, PRESETS["standard"])
    label2id = {t: i for i, t in enumerate(splits.labels)}
    tokenizer = load_tokenizer(ref)
    enc = encode_words(tokenizer, splits.train["tokens"], splits.train["tags"], label2id, max_length)

    def model():
        return load_head_model(ref, AutoModelForTokenClassification, splits.labels, 0)

    return model, enc.dataset, DataCollatorForTokenClassification(tokenizer), tokenizer.pad_token_id


def _batches(dataset, collator, batch_size: int, steps: int):
    lengths = [len(x) for x in dataset["input_ids"]]
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    middle = len(order) // 2 - steps * batch_size // 2  # median-length batches
    return [collator([dataset[i] for i in order[middle + k * batch_size: middle + (k + 1) * batch_size]])
            for k in range(steps)]


def profile(model, batches, bf16: bool) -> dict[str, float]:
    import torch

    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)  # the Trainer's default optimizer
    model.train()
    times: dict[str, list[float]] = {"forward": [], "backward": [], "optimizer": []}
    for k, batch in enumerate(batches):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(**batch).loss
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        opt.zero_grad(set_to_none=True)
        t3 = time.perf_counter()
        if k:  # the first step warms up
            for name, dt in zip(times, (t1 - t0, t2 - t1, t3 - t2), strict=True):
                times[name].append(dt)
    out = {name: round(statistics.median(v), 4) for name, v in times.items()}
    out["step"] = round(sum(out.values()), 4)
    return out


def main() -> None:
    import torch

    from zoo.evaluation.task_vocab import compact_embeddings

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lang", default="xh")
    ap.add_argument("--model", default="teacher")
    ap.add_argument("--task", default="masakhaner")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--steps", type=int, default=6)
    args = ap.parse_args()

    make_model, dataset, collator, pad_id = _encoded(args.model, args.lang, args.task, args.max_length)
    rows = []
    for compact in (False, True):
        model = make_model()
        data = dataset
        if compact:
            (data,), _ = compact_embeddings(model, [dataset], pad_id)
        batches = _batches(data, collator, args.batch_size, args.steps + 1)
        tokens = statistics.mean(int(b["attention_mask"].sum()) for b in batches)
        for bf16 in (False, True):
            rows.append({"embedding_rows": model.get_input_embeddings().num_embeddings,
                         "params": sum(p.numel() for p in model.parameters()),
                         "numerics": "bf16 autocast" if bf16 else "fp32",
                         "tokens_per_batch": round(tokens), **profile(model, batches, bf16)})
    print(json.dumps({"model": args.model, "task": args.task, "batch_size": args.batch_size,
                      "cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
                      "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
