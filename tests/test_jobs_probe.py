"""``--jobs auto``: the probe's rule, its parsing, and a real probe on a tiny architecture."""

from __future__ import annotations

import pytest

from zoo.bench.protocol import n_cpus
from zoo.errors import UsageError, ZooError
from zoo.evaluation.jobs_probe import JobsChoice, candidates, choose_jobs, parse_jobs, pick_jobs


def test_a_larger_number_of_runs_must_beat_the_best_smaller_one_by_the_margin():
    assert pick_jobs({1: 10.0, 2: 10.9}) == 1  # 1.09x: inside the margin
    assert pick_jobs({1: 10.0, 2: 11.0}) == 2
    assert pick_jobs({1: 10.0, 2: 12.0, 4: 12.5}) == 2  # 4 is only 1.04x of 2
    assert pick_jobs({1: 10.0, 2: 10.5, 4: 11.5}) == 4  # 2 was not kept, 4 beats 1 by 1.15x
    assert pick_jobs({1: 10.0, 2: 6.0}) == 1
    assert pick_jobs({1: 10.0}) == 1


def test_candidates_are_powers_of_two_up_to_the_cpus_and_the_cap():
    assert candidates(1) == [1]
    assert candidates(2) == [1, 2]
    assert candidates(3) == [1, 2]
    assert candidates(64) == [1, 2, 4]


def test_jobs_option_takes_a_positive_number_or_auto():
    assert parse_jobs("auto") == "auto" and parse_jobs(" AUTO ") == "auto"
    assert parse_jobs("3") == 3 and parse_jobs(2) == 2
    for bad in ("0", "two", "-1", "1.5"):
        with pytest.raises(UsageError, match="positive integer or 'auto'"):
            parse_jobs(bad)


def test_a_given_number_is_kept_without_a_probe():
    choice = choose_jobs(3)
    assert (choice.jobs, choice.mode, choice.steps_per_s) == (3, "set", {})
    assert choice.as_dict() == {"jobs": 3, "mode": "set"}


def test_the_probe_times_each_candidate_in_processes_of_its_own():
    from transformers import BertConfig

    config = BertConfig(vocab_size=500, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64)  # fmt: skip
    choice = choose_jobs("auto", config, "tiny", window_s=0.3)
    cpus = n_cpus()
    if cpus < 2:
        assert (choice.jobs, choice.why) == (1, "one CPU")
        return
    assert sorted(choice.steps_per_s) == candidates(cpus)
    assert all(rate > 0 for rate in choice.steps_per_s.values())
    assert choice.jobs == pick_jobs(choice.steps_per_s)
    probe = choice.as_dict()["probe"]
    assert probe["model"] == "tiny" and probe["window_s"] == 0.3 and probe["batch"] == [32, 32]
    assert set(probe["steps_per_s"]) == {str(n) for n in candidates(cpus)}
    assert choice.line().startswith(f"jobs: {choice.jobs} (probe on tiny: 2 at once ")


def test_a_probe_that_cannot_build_the_model_says_so():
    from transformers import BertConfig

    config = BertConfig(hidden_size=30, num_attention_heads=4)  # 30 is not a multiple of 4 heads
    if n_cpus() < 2:
        pytest.skip("no probe with one CPU")
    with pytest.raises(ZooError, match="the --jobs probe failed: ValueError") as e:
        choose_jobs("auto", config, "broken", window_s=0.1)
    assert "give --jobs a number, not auto" in str(e.value)


def test_the_choice_line_without_a_probe_says_why():
    choice = JobsChoice(1, "auto", why="a GPU: one run at a time")
    assert choice.line() == "jobs: 1 (a GPU: one run at a time)"


@pytest.mark.parametrize("command", ["eval", "run"])
def test_the_commands_refuse_a_jobs_value_that_is_neither_a_number_nor_auto(command, capsys):
    from zoo.cli import main

    with pytest.raises(SystemExit) as e:
        main([command, "--lang", "xh", "--jobs", "two"])
    assert e.value.code == 2
    assert "--jobs must be a positive integer or 'auto', not 'two'" in capsys.readouterr().err
