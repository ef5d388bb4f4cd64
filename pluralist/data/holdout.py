"""Held-out parts that cannot be read off the training part.

Pairs made from one rater's ratings or rankings share texts, and a personal
model reads the order of a held-out pair off the training pairs that share its
texts. So a rater's held-out comparisons must share no text with their training
comparisons. A rater's comparisons that share a text are linked (a connected
component of the graph whose nodes are texts and whose edges are comparisons):
small components are held out whole, so data whose texts never repeat are split
exactly as pairs would be; a component too large to hold out whole (every pair
made from one rater's ratings) is split by its texts, and the pairs that
straddle the two parts are dropped.
"""

from __future__ import annotations

import numpy as np

HOLDOUTS = ("texts", "pairs")   # texts: no held-out comparison shares a text with training


def holdout(rows: np.ndarray, rater: np.ndarray, chosen: np.ndarray, rejected: np.ndarray,
            fraction: float, rng, *, by: str = "texts") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(kept, held, dropped) rows: about `fraction` of each rater's comparisons held out.

    `rater`, `chosen`, `rejected` are indexed by row (text ids: any integers or strings
    naming the texts). by="pairs" holds out pairs at random (nothing dropped)."""
    rows = np.asarray(rows)
    parts: tuple[list, list, list] = ([], [], [])
    for own in _rows_by_key(rows, rater[rows]):
        split = (_pair_split if by == "pairs" else _text_split)(
            own, chosen[own], rejected[own], fraction, rng)
        for part, picked in zip(parts, split):
            part.append(picked)
    return tuple(np.sort(np.concatenate(p)) if p else np.zeros(0, dtype=np.int64) for p in parts)


def disjoint_from(candidates: np.ndarray, used: np.ndarray, chosen, rejected) -> np.ndarray:
    """The `candidates` rows sharing no text with the `used` rows (a held-out part for
    comparisons someone adapted on)."""
    seen = set(chosen[used].tolist()) | set(rejected[used].tolist())
    fresh = [not (c in seen or r in seen) for c, r in zip(chosen[candidates].tolist(),
                                                          rejected[candidates].tolist())]
    return np.asarray(candidates)[np.array(fresh, dtype=bool)]


def _rows_by_key(rows: np.ndarray, keys: np.ndarray) -> list[np.ndarray]:
    """`rows` grouped by key, groups in order of first appearance of the sorted keys."""
    order = np.argsort(keys, kind="stable")
    _, starts = np.unique(keys[order], return_index=True)
    return np.split(rows[order], starts[1:])


def _pair_split(rows, chosen, rejected, fraction, rng):
    shuffled = rng.permutation(rows)
    cut = len(rows) - int(round(fraction * len(rows)))
    return shuffled[:cut], shuffled[cut:], shuffled[:0]


def _text_split(rows, chosen, rejected, fraction, rng):
    """One rater: whole components while they fit in the target, the rest by texts."""
    texts, index = np.unique(np.concatenate([chosen, rejected]), return_inverse=True)
    if len(texts) == 2 * len(rows):
        return _lone_split(rows, index[len(rows):], fraction, rng)
    return _component_split(rows, index[:len(rows)], index[len(rows):], fraction, rng)


def _component_split(rows, chosen, rejected, fraction, rng):
    """_text_split with the texts as indices 0..texts-1."""
    component = _components(chosen, rejected)
    sizes = np.bincount(component)
    target = int(round(fraction * len(rows)))
    held_components, held_count = set(), 0
    for c in rng.permutation(len(sizes)):
        if sizes[c] <= target - held_count:
            held_components.add(int(c))
            held_count += int(sizes[c])
    held = np.isin(component, list(held_components))
    large = (sizes[component] > target) if held_count < target else np.zeros(len(rows), bool)
    kept = ~held & ~large
    text_held, text_kept = _split_texts(chosen[large], rejected[large], fraction, rng)
    held[np.flatnonzero(large)[text_held]] = True
    kept[np.flatnonzero(large)[text_kept]] = True
    return rows[kept], rows[held], rows[~kept & ~held]


def _lone_split(rows, rejected_index, fraction, rng):
    """_text_split where no text repeats, without its loops: every comparison is a
    component of its own (labelled, as _components labels it, by its rejected text's
    rank), each fits while the target is not reached, so the first `target` of the same
    permutation are held, and none is too large to hold out whole."""
    component = np.unique(rejected_index, return_inverse=True)[1]
    target = int(round(fraction * len(rows)))
    held = np.isin(component, rng.permutation(len(rows))[:target])
    return rows[~held], rows[held], rows[:0]


def _split_texts(chosen, rejected, fraction, rng) -> tuple[np.ndarray, np.ndarray]:
    """Masks (held, kept) of pairs with both texts held / both kept, each text held with
    the probability q that makes held pairs `fraction` of those not dropped:
    q^2 / (q^2 + (1 - q)^2) = fraction."""
    if len(chosen) == 0 or fraction <= 0:
        return np.zeros(len(chosen), bool), np.ones(len(chosen), bool)
    odds = np.sqrt(fraction / (1 - fraction)) if fraction < 1 else np.inf
    q = odds / (1 + odds) if np.isfinite(odds) else 1.0
    texts, index = np.unique(np.concatenate([chosen, rejected]), return_inverse=True)
    text_held = rng.random(len(texts)) < q
    held_c, held_r = text_held[index[:len(chosen)]], text_held[index[len(chosen):]]
    return held_c & held_r, ~held_c & ~held_r


def _components(chosen_index, rejected_index) -> np.ndarray:
    """(n,) connected-component label of each comparison (texts linked by comparisons),
    from each side's text index in 0..texts-1."""
    index = np.concatenate([chosen_index, rejected_index])
    parent = np.arange(index.max() + 1 if len(index) else 0)

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(chosen_index, rejected_index):
        parent[find(a)] = find(b)
    roots = np.array([find(a) for a in chosen_index], dtype=np.int64)
    return np.unique(roots, return_inverse=True)[1]
