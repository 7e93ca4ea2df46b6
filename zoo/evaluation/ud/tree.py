"""Maximum spanning dependency trees (Chu-Liu-Edmonds) with exactly one word attached to the root.

Scores come as a square matrix ``scores[dep, head]`` over nodes ``0..n`` (node 0 is the artificial
root; row 0 is ignored). :func:`mst_heads` returns ``heads[1..n]`` (``heads[0] = -1``) forming a tree
rooted at 0 whose total score is maximal among the trees in which **exactly one** word has head 0.

The single-root constraint is exact, not a heuristic: every root edge is penalised by a constant larger
than the spread of any two trees' scores, so the unconstrained maximum spanning tree uses as few root
edges as possible (one) and, among those trees, has the highest score (Gabow & Tarjan 1984; Zmigrod,
Vieira & Cotterell 2020, "Please mind the root"). Scores may hold ``-inf`` for forbidden arcs, but every
word must keep at least one finite arc.
"""

from __future__ import annotations

import numpy as np


def _find_cycle(heads: np.ndarray) -> list[int] | None:
    """A cycle among nodes 1..n of the head graph, or None."""
    n = len(heads)
    state = np.zeros(n, dtype=np.int8)  # 0 unseen, 1 on the current path, 2 done
    state[0] = 2
    for start in range(1, n):
        path, node = [], start
        while state[node] == 0:
            state[node] = 1
            path.append(node)
            node = heads[node]
        if state[node] == 1:  # walked back into the current path
            return path[path.index(node) :]
        for p in path:
            state[p] = 2
    return None


def _chu_liu_edmonds(scores: np.ndarray) -> np.ndarray:
    """Unconstrained maximum spanning arborescence rooted at node 0 (finite diagonal not allowed)."""
    n = scores.shape[0]
    heads = scores.argmax(axis=1)
    heads[0] = -1
    cycle = _find_cycle(heads)
    if cycle is None:
        return heads
    in_cycle = np.zeros(n, dtype=bool)
    in_cycle[cycle] = True
    outside = np.flatnonzero(~in_cycle)  # includes the root, node 0 stays first
    cyc = np.asarray(cycle)
    c = len(outside)  # index of the contracted node in the smaller problem
    sub = np.full((c + 1, c + 1), -np.inf)
    sub[:c, :c] = scores[np.ix_(outside, outside)]
    # arcs entering the cycle at u from v: gain of replacing u's cycle arc
    enter = scores[np.ix_(cyc, outside)] - scores[cyc, heads[cyc]][:, None]
    enter_best = enter.argmax(axis=0)
    sub[c, :c] = enter[enter_best, np.arange(c)]
    # arcs leaving the cycle: each outside node keeps its best head inside the cycle
    leave = scores[np.ix_(outside, cyc)]
    leave_best = leave.argmax(axis=1)
    sub[:c, c] = leave[np.arange(c), leave_best]
    sub[0, :] = -np.inf
    sub_heads = _chu_liu_edmonds(sub)
    heads = heads.copy()
    for k, v in enumerate(outside):
        if k == 0:
            continue
        h = sub_heads[k]
        heads[v] = outside[h] if h < c else cyc[leave_best[k]]
    entry = sub_heads[c]  # the outside node the cycle now hangs from
    heads[cyc[enter_best[entry]]] = outside[entry]
    return heads


def mst_heads(scores: np.ndarray) -> np.ndarray:
    """Heads of the best tree with exactly one root child; ``scores[dep, head]``, shape (n+1, n+1)."""
    scores = np.array(scores, dtype=np.float64)
    n = scores.shape[0] - 1
    if scores.shape != (n + 1, n + 1) or n < 1:
        raise ValueError(f"scores must be square with at least 2 rows, got {scores.shape}")
    np.fill_diagonal(scores, -np.inf)
    scores[0] = -np.inf
    finite = scores[1:][np.isfinite(scores[1:])]
    if not np.isfinite(scores[1:]).any(axis=1).all():
        raise ValueError("every word needs at least one finite arc score")
    if np.isfinite(scores[1:, 0]).any():
        spread = float(finite.max() - finite.min()) if finite.size else 0.0
        scores[1:, 0] -= (n + 1) * (spread + 1.0)  # one root edge always beats two or more
    heads = _chu_liu_edmonds(scores)
    heads[0] = -1
    return heads


def tree_score(scores: np.ndarray, heads: np.ndarray) -> float:
    """Sum of the arc scores of ``heads[1..n]``."""
    scores = np.asarray(scores)
    return float(sum(scores[d, heads[d]] for d in range(1, len(heads))))


def is_tree(heads: np.ndarray | list[int]) -> bool:
    """Whether ``heads[1..n]`` form a tree rooted at 0 with exactly one root child."""
    heads = np.asarray(heads)
    n = len(heads) - 1
    if n < 1 or ((heads[1:] < 0) | (heads[1:] > n)).any() or (heads[1:] == 0).sum() != 1:
        return False
    h = heads.copy()
    h[0] = 0
    return _find_cycle(h) is None and not (h[1:] == np.arange(1, n + 1)).any()
