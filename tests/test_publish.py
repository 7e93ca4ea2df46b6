"""Publishing: the local Hub cache loads with plain transformers offline; refs move atomically; the Hub
path's dry run names the right repos and files without touching the network.

The student is the random-weight FIXTURE of test_cards.py (never trained).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_cards import add_bench_records, add_eval_records, build_fixture_student, install_student, run_cli

from zoo import card as cards
from zoo import hub
from zoo.errors import OfflineError, UsageError, ZooError
from zoo.teachers import content_revision


@pytest.fixture(scope="session")
def student_template(tmp_path_factory) -> Path:
    """The random-weight fixture student (built once per session, shared with test_cards.py)."""
    return build_fixture_student(tmp_path_factory.getbasetemp() / "fixture-student-xh")


LOAD_OFFLINE = textwrap.dedent("""
    import json, sys
    from transformers import AutoModel, AutoTokenizer
    out = {}
    for i, repo in enumerate(sys.argv[1:]):
        model = AutoModel.from_pretrained(repo)
        out[repo] = {"hidden": model.config.hidden_size,
                     "emb_sum": float(model.embeddings.word_embeddings.weight.double().sum())}
        if i == 0:  # the tokenizer of the first repo (loading the 17 MB XLM-R tokenizer takes a while)
            out[repo]["ids"] = AutoTokenizer.from_pretrained(repo)("Molo, unjani?")["input_ids"]
    out["zoo_imported"] = any(m == "zoo" or m.startswith("zoo.") for m in sys.modules)
    print(json.dumps(out))
""")


def load_offline(cache: Path, *repos: str) -> dict:
    """Load repos with plain transformers in a fresh interpreter: HF_HUB_CACHE + HF_HUB_OFFLINE=1, no zoo."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOO_", "HF_", "TRANSFORMERS_"))}
    env.update(HF_HUB_CACHE=str(cache), HF_HUB_OFFLINE="1", PYTHONPATH="")
    proc = subprocess.run([sys.executable, "-c", LOAD_OFFLINE, *repos], cwd=cache, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def expected_embedding_sum(student: Path) -> float:
    from safetensors.numpy import load_file

    weights = load_file(str(student / "model.safetensors"))
    return float(weights["embeddings.word_embeddings.weight"].astype("float64").sum())


def published_student(template: Path) -> Path:
    """The xh-xs fixture student with results, bench records, training leftovers and a card."""
    path = install_student(template)
    (path / "checkpoint-30").mkdir()
    (path / "checkpoint-30" / "optimizer.pt").write_bytes(b"\0" * 100)
    (path / "trainer_state.json").write_text("{}")
    (path / "training_args.bin").write_bytes(b"\0" * 10)
    (path / "vocab_map.json").write_text(json.dumps({"teacher_ids": [0, 1, 2, 3]}))
    add_eval_records(path, ["masakhaner", "afrixnli"])
    add_bench_records(path)
    cards.write_card("xh", "xs")
    return path


def git_commit_of(files: dict[str, Path], lfs: set[str], workdir: Path) -> str | None:
    """The commit id real git gives those files (LFS files as pointers), same fixed author/date/message."""
    git = shutil.which("git")
    if git is None:
        return None
    from huggingface_hub.utils.sha import sha_fileobj

    repo = workdir / "git-check"
    repo.mkdir()
    for name, src in files.items():
        if name in lfs:
            with open(src, "rb") as f:
                oid = sha_fileobj(f).hex()
            (repo / name).write_text(f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\n"
                                     f"size {src.stat().st_size}\n")
        else:
            shutil.copyfile(src, repo / name)
    env = {**os.environ, "GIT_AUTHOR_NAME": "TiME Zoo", "GIT_AUTHOR_EMAIL": "time-zoo@localhost",
           "GIT_COMMITTER_NAME": "TiME Zoo", "GIT_COMMITTER_EMAIL": "time-zoo@localhost",
           "GIT_AUTHOR_DATE": "@0 +0000", "GIT_COMMITTER_DATE": "@0 +0000", "GIT_CONFIG_GLOBAL": os.devnull}

    def run(*args):
        return subprocess.run([git, "-C", str(repo), *args], env=env, check=True, capture_output=True,
                              text=True).stdout.strip()

    run("init", "-q")
    run("add", "-A")
    return run("commit-tree", run("write-tree"), "-m", "TiME Zoo local publish")


def test_local_publish_loads_offline_and_moves_refs(student_template, tmp_path):
    from huggingface_hub.utils.sha import git_hash

    student = published_student(student_template)
    cache = tmp_path / "hf-cache"
    plan = hub.plan_publish("xh", "xs")
    assert plan.repo_ids == ["time/time-xh", "time/time-xh-xs"]
    names = {f.name for f in plan.files}
    assert names == {"README.md", "config.json", "distillation.json", "model.safetensors", "tokenizer.json",
                     "tokenizer_config.json", "vocab_map.json"}
    assert {"checkpoint-30/", "trainer_state.json", "training_args.bin"} <= set(plan.skipped)

    first = hub.publish_local(plan, cache)
    assert [s.changed for s in first] == [True, True] and first[0].commit == first[1].commit
    commit1 = first[0].commit
    lfs = {f.name for f in plan.files if f.lfs}
    assert lfs == {"model.safetensors", "tokenizer.json"}  # by suffix; the 17 MB tokenizer by size
    expected_commit = git_commit_of({n: student / n for n in names}, lfs, tmp_path)
    if expected_commit is not None:
        assert commit1 == expected_commit
    for repo in ("time/time-xh", "time/time-xh-xs"):
        folder = cache / ("models--" + repo.replace("/", "--"))
        assert (folder / "refs" / "main").read_text() == commit1
        snap = folder / "snapshots" / commit1
        assert sorted(p.name for p in snap.iterdir()) == sorted(names)
        readme_blob = git_hash((student / "README.md").read_bytes())
        assert os.readlink(snap / "README.md") == f"../../blobs/{readme_blob}"
        assert (folder / "blobs" / readme_blob).read_bytes() == (student / "README.md").read_bytes()
        sha = hub.hash_file(student / "model.safetensors")[0]
        assert os.readlink(snap / "model.safetensors") == f"../../blobs/{sha}"

    loaded = load_offline(cache, "time/time-xh", "time/time-xh-xs")
    assert loaded.pop("zoo_imported") is False
    emb = expected_embedding_sum(student)
    for info in loaded.values():
        assert info["hidden"] == 8 and info["emb_sum"] == pytest.approx(emb, rel=1e-9)
    ids = loaded["time/time-xh"]["ids"]
    assert ids[0] == 0 and ids[-1] == 2 and len(ids) > 4  # <s> ... </s> of the XLM-R tokenizer

    # identical content again: a no-op
    again = hub.publish_local(hub.plan_publish("xh", "xs"), cache)
    assert [s.changed for s in again] == [False, False]
    assert len(list((cache / "models--time--time-xh" / "snapshots").iterdir())) == 1

    # a new result makes the card stale; after `zoo card`, publish adds a snapshot and moves refs/main
    add_eval_records(student, ["masakhapos"], rng_seed=1)
    with pytest.raises(ZooError, match="results store changed"):
        hub.plan_publish("xh", "xs")
    cards.write_card("xh", "xs")
    second = hub.publish_local(hub.plan_publish("xh", "xs"), cache)
    commit2 = second[0].commit
    assert commit2 != commit1 and second[0].previous == commit1
    for repo in ("models--time--time-xh", "models--time--time-xh-xs"):
        assert (cache / repo / "refs" / "main").read_text() == commit2
        assert {p.name for p in (cache / repo / "snapshots").iterdir()} == {commit1, commit2}
        assert all((cache / repo / "snapshots" / commit1 / n).is_file() for n in names)
    readme2 = cache / "models--time--time-xh" / "snapshots" / commit2 / "README.md"
    assert '"summary": "3 tasks × 3 seeds, bench eager/onnx-int8"' in readme2.read_text(encoding="utf-8")


def test_interrupted_publish_keeps_refs_at_a_complete_snapshot(student_template, tmp_path, monkeypatch):
    student = published_student(student_template)
    cache = tmp_path / "hf-cache"
    commit1 = hub.publish_local(hub.plan_publish("xh", "xs"), cache)[0].commit
    add_eval_records(student, ["masakhanews"], rng_seed=2)
    cards.write_card("xh", "xs")
    plan = hub.plan_publish("xh", "xs")
    calls = []

    def dying_symlink(src, dst, *a, **k):  # the process "dies" after two links of the new snapshot
        calls.append(dst)
        if len(calls) > 2:
            raise KeyboardInterrupt
        return real_symlink(src, dst, *a, **k)

    real_symlink = os.symlink
    monkeypatch.setattr(hub.os, "symlink", dying_symlink)
    with pytest.raises(KeyboardInterrupt):
        hub.publish_local(plan, cache)
    monkeypatch.setattr(hub.os, "symlink", real_symlink)
    folder = cache / "models--time--time-xh"
    assert (folder / "refs" / "main").read_text() == commit1
    assert [p.name for p in (folder / "snapshots").iterdir()] == [commit1]  # no partial snapshot left
    # the retry completes
    assert hub.publish_local(plan, cache)[0].commit == plan.commit != commit1
    assert (folder / "refs" / "main").read_text() == plan.commit


def test_publish_refuses_without_card_or_results(student_template):
    path = install_student(student_template)
    with pytest.raises(ZooError) as e:
        hub.plan_publish("xh", "xs")
    assert "no model card" in str(e.value) and "zoo card --lang xh --size xs" in str(e.value)
    cards.write_card("xh", "xs")
    with pytest.raises(ZooError) as e:
        hub.plan_publish("xh", "xs")
    assert "no evaluation results" in str(e.value) and "--allow-unevaluated" in str(e.value)
    plan = hub.plan_publish("xh", "xs", allow_unevaluated=True)
    assert plan.warnings and "not evaluated" in plan.message
    with pytest.raises(ZooError, match="organisation 'time', not 'acme'"):
        hub.plan_publish("xh", "xs", org="acme", allow_unevaluated=True)
    (path / "config.json").write_text((path / "config.json").read_text().replace("}", ', "x": 1}', 1))
    with pytest.raises(ZooError, match="another version of the model"):
        hub.plan_publish("xh", "xs", allow_unevaluated=True)


def test_hub_dry_run_names_repos_and_files_without_network(student_template, tmp_path, monkeypatch,
                                                           capsys):
    import huggingface_hub

    from zoo.cli import main

    def no_network(*a, **k):
        raise AssertionError("the dry run touched the Hub")

    for name in ("create_repo", "upload_folder", "create_commit"):
        monkeypatch.setattr(huggingface_hub.HfApi, name, no_network)
    secret = "hf_test_secret_token_never_printed"
    monkeypatch.setenv("HF_TOKEN", secret)
    student = published_student(student_template)
    run_cli(main, ["publish", "--lang", "xh", "--to", "hub", "--dry-run"])
    out = capsys.readouterr().out
    assert secret not in out and "HF_TOKEN is set" in out
    assert "create_repo(repo_id='time/time-xh', repo_type='model', exist_ok=True)" in out
    assert "create_repo(repo_id='time/time-xh-xs', repo_type='model', exist_ok=True)" in out
    assert out.count("upload_folder(") == 2
    for name in ("config.json", "model.safetensors", "tokenizer.json", "README.md", "distillation.json",
                 "vocab_map.json"):
        size = (student / name).stat().st_size
        assert f"  {name}  {size:,} bytes" in out
    listed = [line.split()[0] for line in out.splitlines() if line.startswith("  ")]
    assert "trainer_state.json" not in listed and not any("checkpoint" in n for n in listed)
    message = f"TiME xh-xs: 2 tasks × 3 seeds, bench eager/onnx-int8, model rev {content_revision(student)}"
    assert f"commit message: {message}" in out

    # a non-recommended size goes to its own repo only
    other = install_student(student_template, tmp_path / "time-xh-s")
    cards.write_card("xh", "s", model_dir=other)
    run_cli(main, ["publish", "--lang", "xh", "--size", "s", "--model", str(other), "--to", "hub",
                   "--dry-run", "--allow-unevaluated"])
    out = capsys.readouterr().out
    assert "repo_id='time/time-xh-s'" in out and "repo_id='time/time-xh'," not in out


def test_hub_publish_needs_token_and_network(student_template, monkeypatch):
    published_student(student_template)
    plan = hub.plan_publish("xh", "xs")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OfflineError):
        hub.publish_hub(plan)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(UsageError, match="HF_TOKEN"):
        hub.publish_hub(plan)


def test_publish_command_local(student_template, tmp_path, capsys):
    from zoo.cli import main

    published_student(student_template)
    cache = tmp_path / "cache"
    run_cli(main, ["publish", "--lang", "xh", "--to", "local", str(cache)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("time/time-xh: ") and "(new) ->" in lines[0]
    run_cli(main, ["publish", "--lang", "xh", "--to", "local", str(cache)])
    assert capsys.readouterr().out.count("unchanged") == 2
    with pytest.raises(SystemExit) as e:
        main(["publish", "--lang", "xh", "--to", "local"])
    assert e.value.code == 2
