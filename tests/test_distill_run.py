"""End-to-end distillation runs on the real xh corpus.

The default tests use a tiny random BERT teacher (2 layers x 32, the real XLM-R tokenizer) so that they take
seconds; the slow ones use the real offline teacher.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from zoo import paths
from zoo.cli import main as cli_main
from zoo.distill.checkpoints import run_dir_for
from zoo.distill.record import DistillationRecord
from zoo.distill.run import distill
from zoo.evaluation.numerics import cpu_bf16_flags

STUDENT_FILES = {
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "id_map.json",
    "distillation.json",
}


def _data_root() -> Path:
    root = paths.data_dir(required=False)
    if root is None or not list((root / "xh" / "corpus").glob("*.txt")):
        pytest.skip("no xh corpus under the data root (set ZOO_DATA_DIR)")
    return root


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = _data_root()
    base = tmp_path_factory.mktemp("distill")
    values = {
        "ZOO_WORK_DIR": str(base / "work"),
        "ZOO_CACHE_DIR": str(base / "cache"),
        "HF_HUB_OFFLINE": "1",
        "ZOO_DATA_DIR": str(root),
    }
    with pytest.MonkeyPatch.context() as mp:
        for k, v in values.items():
            mp.setenv(k, v)
        yield values


@pytest.fixture(autouse=True)
def _module_work_dir(request, monkeypatch):
    """The module's tests share one work dir (conftest gives every test its own; this undoes that here)."""
    if "env" in request.fixturenames:
        monkeypatch.setenv("ZOO_WORK_DIR", request.getfixturevalue("env")["ZOO_WORK_DIR"])


@pytest.fixture(scope="module")
def smoke_student(env, tiny_teacher) -> Path:
    return distill("xh", "xs", preset="smoke", teacher=str(tiny_teacher), overrides={"log_ranks": "true"})


def _sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_smoke_run_writes_a_complete_student(smoke_student, env, tiny_teacher):
    out = smoke_student
    assert out == Path(env["ZOO_WORK_DIR"]) / "students" / "time-xh-xs"
    assert STUDENT_FILES <= {p.name for p in out.iterdir()}
    assert not list(out.glob("checkpoint-*"))
    run = run_dir_for(out)
    assert run.parent == Path(env["ZOO_WORK_DIR"]) / "runs" / "distill" and list(run.glob("checkpoint-*"))

    rec = json.loads((out / "distillation.json").read_text())
    tr = rec["training"]
    assert tr["steps"] == 6 and tr["processes"] == 1
    assert [s for s, _ in tr["heldout_loss_curve"]] == [0, 3, 6]
    losses = dict(tr["heldout_loss_curve"])
    assert tr["heldout_loss_at_step_0"] == losses[0]
    assert (
        tr["best_heldout_loss"] == min(losses[3], losses[6])
        and losses[tr["best_step"]] == tr["best_heldout_loss"]
    )
    seqs = _batches_tokens(run, Path(env["ZOO_CACHE_DIR"]))
    assert len(seqs) == 6 * 4 and tr["tokens_seen"] == sum(len(x) for x in seqs)  # real tokens, no padding
    assert len(tr["train_loss_curve"]) == 6 and tr["wall_time_s"] > 0
    assert rec["teacher"]["id"] == str(tiny_teacher) and rec["teacher"]["revision"].startswith("sha256:")
    assert (rec["teacher"]["layer"], rec["teacher"]["relation_heads"]) == (2, 4)
    assert rec["loss"]["relations"] == ["Q-Q", "K-K", "V-V"]
    root = Path(env["ZOO_DATA_DIR"])
    assert len(rec["corpus"]["files"]) == 6
    for f in rec["corpus"]["files"]:
        assert f["sha256"] == _sha256(root / f["path"])
    assert rec["preset"]["name"] == "smoke" and rec["preset"]["values"]["max_steps"] == 6
    assert rec["environment"]["libraries"]["transformers"]
    params = rec["student"]["params"]
    assert params["total"] == params["embedding"] + params["encoder"]
    assert params["embedding"] == (rec["vocab"]["kept_pieces"] + 512 + 2) * 384 + 2 * 384
    assert rec["vocab"]["verification"]["mismatched_lines"] == 0

    cfg = json.loads((out / "config.json").read_text())
    assert (cfg["num_hidden_layers"], cfg["hidden_size"], cfg["num_attention_heads"]) == (4, 384, 6)
    assert (cfg["intermediate_size"], cfg["pad_token_id"], cfg["max_position_embeddings"]) == (1536, 1, 512)
    assert cfg["vocab_size"] == rec["vocab"]["kept_pieces"]

    best = load_file(str(run / f"checkpoint-{tr['best_step']}" / "model.safetensors"))
    final = load_file(str(out / "model.safetensors"))  # BertForMaskedLM: the best encoder + the MLM head
    assert all(torch.equal(best[k], final[f"bert.{k}"]) for k in best)
    assert {k for k in final if not k.startswith("bert.")} == {k for k in final if k.startswith("cls.")}


# Every field of distillation.json that a reader elsewhere reads (as JSON, today): zoo/cards.py
# (locate_student, student_licence, _teacher_identity, _distillation_context, card_context),
# zoo/results/tables.py (_distilled_from), tests/test_pipeline.py and tests/test_corpus_hub.py.
# "[]" walks a list.
READER_FIELDS = (
    "teacher.id",
    "teacher.revision",
    "teacher.layer",
    "teacher.relation_heads",
    "loss.relations",
    "corpus.source",
    "corpus.hub",
    "corpus.lines",
    "corpus.files[].path",
    "corpus.files[].sha256",
    "corpus.files[].lines",
    "corpus.files[].words",
    "vocab.teacher_pieces",  # cards read vocab.teacher_size (never written)
    "vocab.kept_pieces",  # cards read vocab.kept (never written)
    "vocab.kept_fraction",  # cards read vocab.coverage (never written)
    "student.params.total",  # cards read a top-level params (never written)
    "student.params.embedding",
    "student.params.encoder",
    "training.steps",
    "training.tokens_seen",
    "training.best_step",
    "training.heldout_loss_at_step_0",
    "training.best_heldout_loss",
    "training.heldout_loss_curve",
    "training.wall_time_s",
    "environment.cpu",
    "environment.cpu_count",
    "environment.device",
    "environment.torch_threads",
    "environment.libraries",
    "preset.name",
    "preset.overrides",
    "date",
)


def _values(obj, path: str) -> list:
    """The values at a dotted ``path`` of a record (``name[]`` walks a list)."""
    values = [obj]
    for part in path.split("."):
        name = part.removesuffix("[]")
        values = [getattr(v, name) for v in values]
        if part.endswith("[]"):
            values = [x for v in values for x in v]
    return values


def test_smoke_record_round_trips_through_the_typed_record(smoke_student):
    """The distillation.json a real run wrote reads back into DistillationRecord unchanged, and every field
    a reader reads is set."""
    path = smoke_student / "distillation.json"
    on_disk = json.loads(path.read_text())
    record = DistillationRecord.read(path)
    assert record.to_json() == on_disk
    assert DistillationRecord.in_dir(smoke_student) == record
    unset = [f for f in READER_FIELDS if any(v is None for v in _values(record, f)) or not _values(record, f)]
    assert not unset, f"fields readers read but the writer left unset: {unset}"
    assert record.corpus.source == "local" and record.corpus.hub == []
    assert record.training.sessions[-1].last_step == record.training.steps
    assert record.student.untrained_parameters and record.loss.student_layer == record.student.layers


def test_a_smoke_run_stops_at_its_step_budget_in_the_numerics_it_was_given(smoke_student):
    rec = json.loads((smoke_student / "distillation.json").read_text())
    stop = rec["stopping"]
    assert (stop["stop_reason"], stop["step"], stop["budget_steps"], stop["max_steps"]) == ("budget", 6, 6, 6)
    assert (stop["patience"], stop["max_wall_s"], stop["evaluations_without_improvement"]) == (None, None, 0)
    assert 0 < stop["wall_s"] <= rec["training"]["wall_time_s"]
    cpu = rec["environment"]["cpu"]
    assert rec["numerics"] == {"bf16": False, "chosen": "fp32", "probe_s_per_step": None, "device": cpu,
                               "reason": "set by the preset"}  # fmt: skip


def _batches_tokens(run: Path, cache: Path) -> list[list[int]]:
    """The training sequences the run's rank 0 logged, read back from the tokenised-corpus cache."""
    from datasets import load_from_disk

    (data_dir,) = list(cache.glob("distill-data/*/data"))
    train = load_from_disk(str(data_dir))["train"]
    log = [json.loads(line) for line in (run / "rank0.jsonl").read_text().splitlines()]
    return [train[i]["input_ids"] for e in log for i in e.get("idx", [])]


def test_student_loads_without_project_code(smoke_student, tiny_teacher):
    script = textwrap.dedent(
        f"""
        import json, sys
        from transformers import AutoModel, AutoTokenizer
        model = AutoModel.from_pretrained({str(smoke_student)!r})
        tok = AutoTokenizer.from_pretrained({str(smoke_student)!r})
        teacher_tok = AutoTokenizer.from_pretrained({str(tiny_teacher)!r})
        text = "Umongameli uthe urhulumente uza kwakha izikolo ezintsha."
        enc = tok([text, "Molo"], padding=True, return_tensors="pt")
        out = model(**enc).last_hidden_state
        print(json.dumps({{"model": type(model).__name__, "shape": list(out.shape),
                          "student": tok.convert_ids_to_tokens(tok(text)["input_ids"]),
                          "teacher": teacher_tok.convert_ids_to_tokens(teacher_tok(text)["input_ids"]),
                          "pad": tok.pad_token_id,
                          "zoo": any(m == "zoo" or m.startswith("zoo.") for m in sys.modules)}}))
        """
    )
    res = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        cwd="/",
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert res.returncode == 0, res.stderr[-3000:]
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["model"] == "BertModel" and got["shape"][0] == 2 and got["shape"][2] == 384
    assert got["pad"] == 1 and not got["zoo"]
    assert got["student"] == got["teacher"]


def _cli(*args: str) -> int:
    try:
        cli_main(list(args))
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def test_cli_refuses_a_finished_student_and_resumes_only_matching_runs(smoke_student, tiny_teacher, capsys):
    base = [
        "distill",
        "--lang",
        "xh",
        "--size",
        "xs",
        "--preset",
        "smoke",
        "--teacher",
        str(tiny_teacher),
        "--set",
        "log_ranks=true",
    ]
    assert _cli(*base) == 2
    assert "already holds a finished student" in capsys.readouterr().err
    run = run_dir_for(smoke_student)
    # --force with the same settings reuses the finished run: no new training steps
    assert _cli(*base, "--force") == 0
    sessions = json.loads((run / "sessions.json").read_text())
    assert [s["resumed_from_step"] for s in sessions] == [0, 6] and sessions[-1]["last_step"] == 6
    # other settings must not silently resume someone else's checkpoints
    assert _cli(*base, "--force", "--max-steps", "7") == 2
    err = capsys.readouterr().err
    assert "other settings (preset)" in err and "--restart" in err
    assert _cli(*base, "--force", "--restart", "--max-steps", "7", "--set", "eval_steps=7") == 0
    rec = json.loads((smoke_student / "distillation.json").read_text())
    assert rec["training"]["steps"] == 7 and len(rec["training"]["sessions"]) == 1
    assert _cli("distill", "--lang", "xh", "--size", "xxl") == 2
    assert "unknown size 'xxl'" in capsys.readouterr().err


def test_a_run_resumed_from_a_middle_checkpoint_equals_the_uninterrupted_run(env, tiny_teacher, tmp_path):
    """Same batches after the resume point, bit-identical weights (the pipeline kill -9 test relies on it)."""
    import shutil

    out = tmp_path / "time-xh-xs-resumed"
    settings = {"log_ranks": "true"}
    distill("xh", "xs", preset="smoke", teacher=str(tiny_teacher), out=out, overrides=settings)
    run = run_dir_for(out)
    uninterrupted = (out / "model.safetensors").read_bytes()
    first = [json.loads(x) for x in (run / "rank0.jsonl").read_text().splitlines()]
    shutil.rmtree(run / "checkpoint-6")
    shutil.rmtree(out)
    distill("xh", "xs", preset="smoke", teacher=str(tiny_teacher), out=out, overrides=settings)
    lines = [json.loads(x) for x in (run / "rank0.jsonl").read_text().splitlines()]
    resumed = lines[len(first) :]
    assert [e["step"] for e in resumed if "step" in e] == [3, 4, 5]
    assert [e["idx"] for e in resumed if "idx" in e] == [e["idx"] for e in first if e.get("step", 0) >= 3]
    assert (out / "model.safetensors").read_bytes() == uninterrupted

def _record(out: Path) -> dict:
    return json.loads((out / "distillation.json").read_text())


def _tiny(tiny_teacher: Path, out: Path, sets: dict[str, str], force: bool = False) -> dict:
    """A smoke distillation against the tiny teacher into ``out``; its distillation.json."""
    distill("xh", "xs", preset="smoke", teacher=str(tiny_teacher), out=out, overrides=sets, force=force)
    return _record(out)


def _sessions(rec: dict) -> list[tuple[int, int]]:
    """(step resumed from, last step) of each training session."""
    return [(s["resumed_from_step"], s["last_step"]) for s in rec["training"]["sessions"]]


def test_an_epoch_budget_and_bf16_auto_probe_both_numerics(env, tiny_teacher, tmp_path):
    """max_epochs sets the step budget from the corpus (the Trainer's own epoch count agrees); bf16=auto
    times fp32 and bf16 autocast steps (bf16 only where the CPU has native bf16), records them and keeps
    bf16 only when under 0.9x the fp32 time."""
    rec = _tiny(tiny_teacher, tmp_path / "time-xh-xs-epochs",
                {"max_steps": "none", "max_epochs": "0.01", "bf16": "auto"})  # fmt: skip
    per_epoch = math.ceil(rec["corpus"]["train_sequences"] / 4)  # batch 4, one process
    budget = math.ceil(0.01 * per_epoch)
    stop = rec["stopping"]
    assert (stop["stop_reason"], stop["step"], stop["budget_steps"]) == ("budget", budget, budget)
    assert rec["training"]["steps"] == budget
    assert rec["training"]["epochs"] == pytest.approx(budget / per_epoch, abs=1e-3)
    num = rec["numerics"]
    probe = num["probe_s_per_step"]
    native = cpu_bf16_flags() != set()  # a CPU without native bf16 instructions is not probed in bf16
    assert set(probe) == ({"fp32", "bf16"} if native else {"fp32"}) and min(probe.values()) > 0
    faster = "bf16" if native and probe["bf16"] < 0.9 * probe["fp32"] else "fp32"
    assert native or "not probed: the CPU lists no native bf16 instructions" in num["reason"]
    assert num["bf16"] == "auto" and num["chosen"] == faster
    assert rec["environment"]["bf16"] == (faster == "bf16") and num["device"] == rec["environment"]["cpu"]


def test_a_loss_that_cannot_improve_stops_on_a_plateau_and_a_rerun_honours_it(env, tiny_teacher, tmp_path):
    """A learning rate of 1e-12 leaves the held-out loss where it is: with patience 2 and an evaluation
    every 2 steps, the evaluations at steps 4 and 6 bring no improvement, so training stops at step 6 of 40.
    A rerun reads the early-stopping counter from the last checkpoint and publishes without training."""
    out = tmp_path / "time-xh-xs-plateau"
    sets = {"max_steps": "40", "eval_steps": "2", "patience": "2", "min_delta": "0.001"}
    sets["learning_rate"] = "1e-12"
    rec = _tiny(tiny_teacher, out, sets)
    stop, tr = rec["stopping"], rec["training"]
    assert (stop["stop_reason"], stop["step"], stop["evaluations_without_improvement"]) == ("plateau", 6, 2)
    assert (stop["budget_steps"], stop["patience"], stop["min_delta"]) == (40, 2, 0.001)
    losses = [loss for _, loss in tr["heldout_loss_curve"]]
    assert [s for s, _ in tr["heldout_loss_curve"]] == [0, 2, 4, 6] and max(losses) - min(losses) < 0.001
    rerun = _tiny(tiny_teacher, out, sets, force=True)
    assert _sessions(rerun) == [(0, 6), (6, 6)]
    assert rerun["stopping"]["stop_reason"] == "plateau" and rerun["training"]["steps"] == 6


def test_the_wall_cap_stops_a_run_counts_earlier_sessions_and_a_larger_cap_resumes(
    env, tiny_teacher, tmp_path
):
    """A cap of 1 ms stops at the first step, which is evaluated and saved; a rerun with the same cap
    counts the first session's time and trains nothing; the cap is not part of the run's settings, so a
    rerun without it resumes from that checkpoint to the budget."""
    out = tmp_path / "time-xh-xs-cap"
    run = run_dir_for(out)
    sets = {"max_steps": "4", "eval_steps": "2", "max_wall_s": "0.001"}
    rec = _tiny(tiny_teacher, out, sets)
    stop = rec["stopping"]
    assert (stop["stop_reason"], stop["step"], stop["max_wall_s"]) == ("cap", 1, 0.001) and stop["wall_s"] > 0
    assert [s for s, _ in rec["training"]["heldout_loss_curve"]] == [0, 1]
    assert (run / "checkpoint-1" / "trainer_state.json").is_file()
    again = _tiny(tiny_teacher, out, sets, force=True)
    assert _sessions(again) == [(0, 1), (1, 1)]
    assert (again["stopping"]["stop_reason"], again["training"]["steps"]) == ("cap", 1)
    longer = _tiny(tiny_teacher, out, {**sets, "max_wall_s": "none"}, force=True)
    assert (longer["stopping"]["stop_reason"], longer["training"]["steps"]) == ("budget", 4)
    assert [s for s, _ in longer["training"]["heldout_loss_curve"]] == [0, 1, 2, 4]
    assert [s["resumed_from_step"] for s in longer["training"]["sessions"]] == [0, 1, 1]


def test_two_processes_train_on_different_batches_and_stay_in_sync(env, tiny_teacher, tmp_path):
    out = tmp_path / "time-xh-xs-ddp"
    cmd = [
        "accelerate",
        "launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "-m",
        "zoo.distill",
        "--lang",
        "xh",
        "--size",
        "xs",
        "--preset",
        "smoke",
        "--teacher",
        str(tiny_teacher),
        "--out",
        str(out),
        "--set",
        "log_ranks=true",
    ]
    accelerate = Path(sys.executable).parent / "accelerate"
    cmd[0] = str(accelerate)
    proc_env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    t0 = time.monotonic()
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=proc_env)
    assert res.returncode == 0, res.stderr[-4000:]
    assert res.stdout.strip().splitlines()[-1] == str(out)
    run = run_dir_for(out)
    logs = {r: [json.loads(x) for x in (run / f"rank{r}.jsonl").read_text().splitlines()] for r in (0, 1)}
    batches = {r: {e["step"]: e["idx"] for e in logs[r] if "idx" in e} for r in (0, 1)}
    assert sorted(batches[0]) == sorted(batches[1]) == list(range(6))
    for step in range(6):
        assert not set(batches[0][step]) & set(batches[1][step]), (
            f"both ranks saw the same rows at step {step}"
        )
    digests = {r: [e["weights_sha256"] for e in logs[r] if "weights_sha256" in e] for r in (0, 1)}
    assert len(digests[0]) == 1 and digests[0] == digests[1]
    rec = json.loads((out / "distillation.json").read_text())
    assert rec["training"]["processes"] == 2 and rec["training"]["steps"] == 6
    assert sorted(p.name for p in run.glob("checkpoint-*")) == ["checkpoint-3", "checkpoint-6"]
    assert len([p for p in out.parent.iterdir() if p.name.startswith("time-xh-xs-ddp")]) == 1
    print(f"2-process smoke run: {time.monotonic() - t0:.0f} s")


def _real_env(tmp_path: Path) -> dict[str, str]:
    """The real offline teacher (converted once into the user cache); work files in tmp."""
    return {
        **os.environ,
        "ZOO_WORK_DIR": str(tmp_path / "work"),
        "HF_HUB_OFFLINE": "1",
        "ZOO_DATA_DIR": str(_data_root()),
    }


def _zoo() -> str:
    return str(Path(sys.executable).parent / "zoo")


@pytest.mark.slow  # not in CI: tests/test_pipeline.py kills `zoo run` during the same distillation
def test_kill_9_then_rerun_resumes_from_the_last_checkpoint(tmp_path):
    env = _real_env(tmp_path)
    run = tmp_path / "work" / "runs" / "distill" / "time-xh-xs"
    out = tmp_path / "work" / "students" / "time-xh-xs"
    cmd = [
        _zoo(),
        "distill",
        "--lang",
        "xh",
        "--size",
        "xs",
        "--preset",
        "smoke",
        "--set",
        "max_steps=30",
        "--set",
        "eval_steps=6",
        "--set",
        "heldout_max=8",
    ]
    with open(tmp_path / "first.log", "w") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 900
        while not (run / "checkpoint-6" / "trainer_state.json").is_file():
            assert proc.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "no checkpoint within 15 minutes"
            time.sleep(0.5)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    done = sorted(int(p.name[11:]) for p in run.glob("checkpoint-*") if (p / "trainer_state.json").is_file())
    killed_at = done[-1]
    assert killed_at < 30 and not out.exists()
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    assert res.returncode == 0, res.stderr[-3000:]
    assert f"resuming from {run / f'checkpoint-{killed_at}'}" in res.stderr
    sessions = json.loads((run / "sessions.json").read_text())
    assert [s["resumed_from_step"] for s in sessions] == [0, killed_at]
    rec = json.loads((out / "distillation.json").read_text())
    assert rec["training"]["steps"] == 30
    steps = [s for s, _ in rec["training"]["heldout_loss_curve"]]
    assert steps == [0, 6, 12, 18, 24, 30]  # the step-0 loss is measured once, not again on resume


@pytest.mark.slow
@pytest.mark.ci
def test_short_real_distillation_halves_the_heldout_loss(tmp_path):
    """Two minutes on xh with the offline teacher and the cpu preset's own initialisation and losses (teacher
    embeddings and layers, relation + hidden-state loss): the held-out loss and its relation part at the best
    checkpoint are at most half of their values at step 0."""
    env = _real_env(tmp_path)
    # at 64 tokens and without the MLM head, 20 steps: measured 2026-12-02 on AMD EPYC (2 cores) with
    # 40 steps, the held-out loss went 7.26 -> 1.46 (step 20) -> 1.18 (step 40), relation part 7.22 -> 1.44
    cmd = [_zoo(), "distill", "--lang", "xh", "--size", "xs", "--preset", "cpu", "--max-steps", "20"]
    cmd += ["--set", "eval_steps=10", "--set", "max_seq_len=64", "--set", "mlm_head_steps=0"]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    assert res.returncode == 0, res.stderr[-3000:]
    rec = json.loads((Path(res.stdout.strip().splitlines()[-1]) / "distillation.json").read_text())
    tr = rec["training"]
    assert "encoder layers 1-4 copied from teacher layers" in rec["student"]["embedding_init"]
    assert rec["loss"]["hidden_state"]["weight"] == 1.0
    assert tr["best_heldout_loss"] <= 0.5 * tr["heldout_loss_at_step_0"], tr["heldout_loss_curve"]
    relation = dict(tr["heldout_relation_loss_curve"])
    assert min(relation.values()) <= 0.5 * relation[0], relation
