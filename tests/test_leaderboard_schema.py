"""The typed leaderboard (zoo/leaderboard/schema.py): a real build round-trips; the schema file; errors.

The leaderboard is built from the hand-made fixtures (tests/leaderboard_fixtures.py) and written by the real
writer (`write_leaderboard`).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import get_args

import pytest
from leaderboard_fixtures import bench_record, fixture_records, model_info

from zoo.errors import ZooError
from zoo.leaderboard import ROLE_LABELS, Leaderboard, build_leaderboard, write_leaderboard
from zoo.leaderboard.schema import Role


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> dict[str, Path]:
    return write_leaderboard(build_leaderboard(fixture_records()), tmp_path_factory.mktemp("lb") / "site")


def _write(path: Path, document: dict) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_a_built_leaderboard_round_trips_unchanged(site):
    text = site["json"].read_text(encoding="utf-8")
    board = Leaderboard.read(site["json"])
    assert board.to_json() == json.loads(text)
    # byte for byte: the same keys in the same order, numbers of the same type
    assert json.dumps(board.to_json(), indent=2, ensure_ascii=False) + "\n" == text
    assert Leaderboard.from_json(board.to_json()) == board
    row = next(r for r in board.rows if r.id == "xh/time-xh-xs")
    assert row.tasks["masakhaner"].mean == pytest.approx(72.0) and row.speed.best.runtime == "onnx-int8"
    assert board.to_json()["schema"] == "time-zoo/leaderboard@1"  # the key, though the field is schema_id


def test_the_schema_file_is_current_and_ships_with_the_site(site):
    repo = Path(__file__).parents[1]
    assert Leaderboard.schema_file() == repo / "zoo" / "schemas" / "leaderboard.schema.json"
    assert Leaderboard.schema_file().read_text(encoding="utf-8") == Leaderboard.schema_text(), (
        "stale: python -m zoo.schema --write"
    )
    assert site["schema"].read_text(encoding="utf-8") == Leaderboard.schema_text()
    schema = json.loads(Leaderboard.schema_text())
    assert schema["properties"]["schema"]["const"] == "time-zoo/leaderboard@1"
    # every key is always written, so the schema requires every one (the page's JavaScript relies on it)
    assert set(schema["$defs"]["Row"]["required"]) == set(schema["$defs"]["Row"]["properties"])
    assert set(schema["$defs"]["Language"]["required"]) == set(schema["$defs"]["Language"]["properties"])


def test_roles_of_the_schema_are_the_builder_s():
    assert set(get_args(Role)) == set(ROLE_LABELS)


@pytest.mark.parametrize(
    ("damage", "where", "what"),
    [
        (lambda d: d["rows"][0].__setitem__("role", "wizard"), "rows.0.role", "Input should be"),
        (lambda d: d["rows"][1]["speed"].pop("runtimes"), "rows.1.speed.runtimes", "Field required"),
        (
            lambda d: d["rows"][0]["tasks"]["wikiann"].__setitem__("mean", "81"),
            "rows.0.tasks.wikiann.mean",
            "valid number",
        ),
        (
            lambda d: d["languages"][1]["reported"][0].pop("citation"),
            "languages.1.reported.0.citation",
            "Field required",
        ),
        (lambda d: d["rows"][0].__setitem__("colour", "red"), "rows.0.colour", "Extra inputs"),
        (lambda d: d.__setitem__("schema", "time-zoo/leaderboard@2"), "schema", "Input should be"),
        (
            lambda d: d["rows"][0]["speed"]["best"].__setitem__("sentences_per_s_ci95", [1.0]),
            "rows.0.speed.best.sentences_per_s_ci95",
            "at least 2 items",
        ),
    ],
)
def test_a_wrong_or_missing_field_names_the_file_and_the_field(site, tmp_path, damage, where, what):
    document = json.loads(site["json"].read_text(encoding="utf-8"))
    assert [r["role"] for r in document["rows"][:2]] == ["student", "teacher"]  # of fr, then xh
    damage(document)
    path = _write(tmp_path / "leaderboard.json", document)
    with pytest.raises(ZooError) as e:
        Leaderboard.read(path)
    message = str(e.value)
    assert message.startswith(f"{path}: not a valid leaderboard record: {where}: ")
    assert what in message and "\n" not in message


def test_not_json_and_no_file_are_one_line_errors(tmp_path):
    bad = tmp_path / "leaderboard.json"
    bad.write_text('{"schema": ', encoding="utf-8")
    with pytest.raises(ZooError, match=rf"^{bad}:1: not valid JSON"):
        Leaderboard.read(bad)
    with pytest.raises(ZooError, match="does not exist"):
        Leaderboard.read(tmp_path / "missing.json")


def test_older_documents_without_the_later_keys_still_read(site):
    document = json.loads(site["json"].read_text(encoding="utf-8"))
    old = copy.deepcopy(document)
    for lang in old["languages"]:
        del lang["reported"]
    for row in old["rows"]:
        for task in row["tasks"].values():
            del task["unconverged_seeds"]
    board = Leaderboard.from_json(old)
    assert all(lang.reported == [] for lang in board.languages)
    assert all(t.unconverged_seeds == 0 for r in board.rows for t in r.tasks.values())


def test_a_record_with_a_mistyped_field_is_named_by_the_builder():
    recs = fixture_records()
    student = model_info("time-xh-xs", "student", "xs", "xs")
    odd = bench_record("xh", student, "onnx-int8", 900.0, True, "rapl", 1.0)
    odd["details"]["threads"] = "2"  # a string where the leaderboard needs an integer
    expected = (
        r"^the leaderboard built from the given records: not a valid leaderboard record: "
        r"rows\.\d+\.speed\.runtimes\.\d+\.threads: Input should be a valid integer"
    )
    with pytest.raises(ZooError, match=expected):
        build_leaderboard([*recs, odd])
