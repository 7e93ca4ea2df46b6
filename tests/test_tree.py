"""Chu-Liu-Edmonds decoding with one root child: hand-made score matrices and brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from zoo.evaluation.ud.tree import is_tree, mst_heads, tree_score

NEG = -1e9  # "never" for arcs in hand-made matrices


def _matrix(n: int, arcs: dict[tuple[int, int], float], default: float = 0.0) -> np.ndarray:
    """scores[dep, head] for nodes 0..n; ``arcs`` maps (dep, head) to a score."""
    s = np.full((n + 1, n + 1), default)
    for (d, h), v in arcs.items():
        s[d, h] = v
    return s


def _brute_force(scores: np.ndarray) -> tuple[float, list[tuple[int, ...]]]:
    """Best score and all best head tuples over every single-root tree (small n only)."""
    n = scores.shape[0] - 1
    best, argbest = -np.inf, []
    for heads in itertools.product(range(n + 1), repeat=n):
        h = np.array((-1, *heads))
        if not is_tree(h):
            continue
        s = tree_score(scores, h)
        if s > best + 1e-9:
            best, argbest = s, [heads]
        elif abs(s - best) <= 1e-9:
            argbest.append(heads)
    return best, argbest


def test_greedy_heads_already_a_tree_are_kept():
    # 1 <- 2 -> 3, 2 <- root
    s = _matrix(3, {(1, 2): 5, (2, 0): 5, (3, 2): 5}, default=1)
    assert mst_heads(s)[1:].tolist() == [2, 0, 2]


def test_greedy_cycle_is_broken_at_the_cheapest_place():
    # Greedy: 1 -> head 2 (10), 2 -> head 1 (10): a cycle. Root arcs: 1 (2), 2 (1); word 3 hangs on 2.
    # Break at 1 (root -> 1, 2 keeps head 1): 2 + 10 + 9 = 21; break at 2: 1 + 10 + 9 = 20.
    arcs = {(1, 2): 10, (2, 1): 10, (1, 0): 2, (2, 0): 1, (3, 2): 9, (3, 1): 3, (3, 0): 0}
    s = _matrix(3, arcs, default=NEG)
    heads = mst_heads(s)
    assert heads[1:].tolist() == [0, 1, 2]
    assert tree_score(s, heads) == 21


def test_cycle_of_three_inside_a_larger_sentence():
    # Greedy heads 2 <- 3, 3 <- 4, 4 <- 2 form a cycle; 1 hangs on the root. Entering the cycle from 1
    # costs 7 - 8 = -1 at word 3, 2 - 8 = -6 at word 2, 1 - 8 = -7 at word 4: so 3 <- 1, and the cycle
    # keeps 2 <- 3 and 4 <- 2. Total 10 + 8 + 7 + 8 = 33.
    arcs = {(1, 0): 10, (2, 3): 8, (3, 4): 8, (4, 2): 8, (3, 1): 7, (2, 1): 2, (4, 1): 1, (2, 0): 0}
    s = _matrix(4, arcs, default=NEG)
    heads = mst_heads(s)
    assert heads[1:].tolist() == [0, 3, 1, 2]
    assert tree_score(s, heads) == 33


def test_two_words_picking_root_keep_only_the_better_one():
    # Both 1 and 3 prefer the root; 2 prefers 1. Single root: root -> 1 (9), 3 -> 1 (4) beats
    # root -> 3 (8), 1 -> 3 (2).
    s = _matrix(
        3,
        {(1, 0): 9, (3, 0): 8, (2, 1): 6, (2, 3): 1, (3, 1): 4, (1, 3): 2, (3, 2): 0, (1, 2): 0},
        default=NEG,
    )
    heads = mst_heads(s)
    assert heads[1:].tolist() == [0, 1, 1]
    assert (heads[1:] == 0).sum() == 1


def test_the_root_child_is_not_simply_the_highest_root_score():
    # Word 1 has the best root arc (9 vs 8), but root -> 3 lets 1 attach to 3 (7):
    # root -> 1: 9 + (2 <- 1) 6 + (3 <- 1) 1 = 16;  root -> 3: 8 + (1 <- 3) 7 + (2 <- 1) 6 = 21.
    s = _matrix(3, {(1, 0): 9, (3, 0): 8, (2, 1): 6, (1, 3): 7, (3, 1): 1, (2, 3): 1}, default=NEG)
    heads = mst_heads(s)
    assert heads[1:].tolist() == [3, 1, 0]
    assert tree_score(s, heads) == 21


def test_single_word():
    assert mst_heads(np.array([[0.0, 0.0], [3.0, 0.0]]))[1:].tolist() == [0]


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_matches_brute_force_on_random_scores(n):
    rng = np.random.default_rng(n)
    for _ in range(40 if n < 5 else 8):
        s = rng.normal(size=(n + 1, n + 1))
        heads = mst_heads(s)
        assert is_tree(heads)
        best, argbest = _brute_force(s)
        assert tree_score(s, heads) == pytest.approx(best)
        assert tuple(heads[1:].tolist()) in argbest


def test_is_tree_rejects_cycles_and_two_roots():
    assert is_tree([-1, 0, 1, 2])
    assert not is_tree([-1, 0, 0, 2])  # two root children
    assert not is_tree([-1, 0, 3, 2])  # 2 <-> 3 cycle
    assert not is_tree([-1, 0, 2, 2])  # self loop
