"""Data readers: hand-checked inputs, malformed input with file:line, every real file vs MANIFEST.md."""

from __future__ import annotations

import re

import pytest

from zoo.data import readers
from zoo.data.conllu import format_conllu, parse_conllu, read_conllu
from zoo.data.tasks import load_split, parse_split
from zoo.errors import DataError
from zoo.registry import languages

# French "du" = "de le": a multi-word token; an empty node 2.1; SpaceAfter=No on "chat".
FR = """# sent_id = t1
# text = Le chat du voisin.
1\tLe\tle\tDET\t_\tDefinite=Def|Gender=Masc|Number=Sing\t2\tdet\t_\t_
2\tchat\tchat\tNOUN\t_\tGender=Masc|Number=Sing\t0\troot\t_\t_
2.1\tdort\tdormir\tVERB\t_\t_\t_\t_\t2:orphan\t_
3-4\tdu\t_\t_\t_\t_\t_\t_\t_\t_
3\tde\tde\tADP\t_\t_\t5\tcase\t_\t_
4\tle\tle\tDET\t_\tDefinite=Def\t5\tdet\t_\t_
5\tvoisin\tvoisin\tNOUN\t_\t_\t2\tnmod\t_\tSpaceAfter=No
6\t.\t.\tPUNCT\t_\t_\t2\tpunct\t_\t_

"""


def test_conllu_hand_checked_sentence():
    (s,) = parse_conllu(FR)
    assert s.sent_id == "t1"
    assert s.column("form") == ["Le", "chat", "de", "le", "voisin", "."]
    assert s.column("head") == ["2", "0", "5", "5", "2", "2"]
    assert s.column("misc")[4] == "SpaceAfter=No"
    assert [t[0] for t in s.tokens] == ["3-4"] and s.tokens[0][1] == "du"
    assert [e[0] for e in s.empty] == ["2.1"]
    assert s.comments == ["# sent_id = t1", "# text = Le chat du voisin."]
    assert format_conllu([s]) == FR  # written back byte for byte


@pytest.mark.parametrize(
    "bad, line, message",
    [
        ("1\tLe\tle\tDET\t_\t_\t0\troot\t_\n", 1, "expected 10 tab-separated columns, found 9"),
        ("1\tA\ta\tX\t_\t_\t0\troot\t_\t_\n3\tB\tb\tX\t_\t_\t1\tdep\t_\t_\n", 2, "word ID 3 out of sequence"),
        ("1\tA\ta\tX\t_\t_\t0\troot\t_\t_\n2\tB\tb\tX\t_\t_\t7\tdep\t_\t_\n", 2, "HEAD '7' of word 2"),
        ("1\tA\ta\tX\t_\t_\t0\troot\t_\t_\nx\tB\tb\tX\t_\t_\t1\tdep\t_\t_\n", 2, "bad ID 'x'"),
    ],
)
def test_conllu_malformed_names_file_and_line(tmp_path, bad, line, message):
    path = tmp_path / "bad.conllu"
    path.write_text("# sent_id = 1\n" + bad)
    with pytest.raises(DataError) as e:
        read_conllu(path)
    assert f"{path}:{line + 1}:" in str(e.value) and message in str(e.value)


def test_iob_invalid_tag_and_columns(tmp_path):
    path = tmp_path / "x.iob"
    path.write_text("Molo\tO\nThando\tB-PER\n\nUmzi\tX-LOC\n")
    with pytest.raises(DataError, match=rf"{re.escape(str(path))}:4: invalid IOB2 tag 'X-LOC'"):
        readers.read_tagged(path, iob=True)
    path.write_text("Molo O\n")
    with pytest.raises(DataError, match=":1: expected 'token<TAB>tag'"):
        readers.read_tagged(path, iob=True)
    path.write_text("Molo\tO\nThando\tB-PER\n\n\nUmzi\tI-LOC\n")
    ds = readers.read_tagged(path, iob=True)
    assert ds["tokens"] == [["Molo", "Thando"], ["Umzi"]] and ds["tags"] == [["O", "B-PER"], ["I-LOC"]]


def test_nli_label_out_of_range(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(
        '{"premise": "a b", "hypothesis": "c", "label": 0}\n{"premise": "a", "hypothesis": "b", "label": 3}\n'
    )
    with pytest.raises(DataError, match=r":2: label 3 out of range; expected an integer 0..2"):
        readers.read_pairs(path, num_labels=3)


def test_news_tsv_multiline_fields(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text('category\theadline\ttext\turl\nsports\tBafana\t"line one\nline two"\tnot available\n')
    ds = readers.read_news(path, ["sports", "health"])
    assert ds["text"] == ["Bafana. line one line two"] and ds["label"] == ["sports"]
    path.write_text("category\theadline\ttext\turl\nweather\tx\ty\tz\n")
    with pytest.raises(DataError, match="unknown category 'weather'"):
        readers.read_news(path, ["sports"])


def test_corpus_empty_or_binary(tmp_path):
    empty, binary = tmp_path / "e.txt", tmp_path / "b.txt"
    empty.write_text("\n \n")
    binary.write_bytes(b"\x89PNG\x00\x00\x01")
    with pytest.raises(DataError, match="corpus file is empty"):
        readers.read_corpus([empty])
    with pytest.raises(DataError, match="looks binary"):
        readers.read_corpus([binary])


def test_split_slices():
    assert parse_split("dev[:80%]") == ("dev", 0, 80)
    assert parse_split("train[90%:]") == ("train", 90, 100)
    assert parse_split("test") == ("test", 0, 100)


def _manifest_counts(data_root) -> dict[str, int]:
    """File → count from MANIFEST.md's inventory ('N sents', 'N pairs', 'N articles', 'N lines')."""
    counts = {}
    for m in re.finditer(
        r"^\| `([^`]+)` \| ([\d,]+) (sents|pairs|articles|lines)",
        (data_root / "MANIFEST.md").read_text(),
        re.M,
    ):
        counts[m.group(1)] = int(m.group(2).replace(",", ""))
    return counts


def test_every_real_file_matches_manifest(data_root):
    counts = _manifest_counts(data_root)
    assert len(counts) > 90
    seen = set()
    for spec in languages().values():
        for path in spec.corpus_files(data_root):
            rel = str(path.relative_to(data_root))
            assert len(readers.read_corpus([path])) == counts[rel], rel
            seen.add(rel)
        for task in spec.tasks.values():
            from zoo.data.tasks import read_local

            for rel in task.local.values():
                assert len(read_local(task, data_root / rel)) == counts[rel], rel
                seen.add(rel)
    seen.add("xh/news/labels.txt")
    assert readers.read_news_labels(data_root / "xh/news/labels.txt") == [
        "business",
        "entertainment",
        "health",
        "politics",
        "sports",
    ]
    extra = {"ga/ud/r2.15_devtest/dev.conllu", "ga/ud/r2.15_devtest/test.conllu"}
    for rel in extra:
        assert len(read_conllu(data_root / rel)) == counts[rel]
    assert set(counts) - seen - extra == set()  # every file in the inventory was read


def test_split_roles_by_slice(data_root):
    xh = languages()["xh"]
    train, select = load_split(xh.tasks["afrixnli"], "train"), load_split(xh.tasks["afrixnli"], "select")
    assert (len(train), len(select)) == (360, 90)  # 450 dev pairs split 80/20
    pairs = lambda ds: set(zip(ds["premise"], ds["hypothesis"], strict=False))  # noqa: E731
    assert pairs(train).isdisjoint(pairs(select))
