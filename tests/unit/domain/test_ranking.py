"""top_k: ordering, ties, exclusions, filters and short catalogs on hand-made score vectors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from movierecs.domain.ranking import top_k


def test_best_first_with_scores() -> None:
    idx, scores = top_k(np.array([0.2, 0.9, 0.5, 0.1]), 3)
    assert idx.tolist() == [1, 2, 0]
    assert scores.tolist() == [0.9, 0.5, 0.2]


def test_ties_broken_by_lower_index() -> None:
    idx, _ = top_k(np.array([0.5, 0.9, 0.5, 0.9, 0.5]), 4)
    assert idx.tolist() == [1, 3, 0, 2]


def test_ties_straddling_the_cut_keep_the_lowest_indices() -> None:
    # argpartition picks an arbitrary subset of tied items; the result must not depend on it
    scores = np.zeros(200)
    scores[[150, 7, 99, 3]] = 1.0
    idx, s = top_k(scores, 6)
    assert idx.tolist() == [3, 7, 99, 150, 0, 1]
    assert s.tolist() == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]


def test_exclude_removes_items() -> None:
    idx, _ = top_k(np.array([0.1, 0.9, 0.5, 0.8]), 2, exclude=np.array([1, 3]))
    assert idx.tolist() == [2, 0]


def test_empty_exclude_is_a_no_op() -> None:
    idx, _ = top_k(np.array([0.1, 0.9]), 2, exclude=np.array([], dtype=np.int64))
    assert idx.tolist() == [1, 0]


def test_allowed_mask_filters() -> None:
    allowed = np.array([True, False, True, False])
    idx, _ = top_k(np.array([0.1, 0.9, 0.5, 0.8]), 3, allowed=allowed)
    assert idx.tolist() == [2, 0]


def test_exclude_and_allowed_combine() -> None:
    allowed = np.array([True, True, True, False])
    idx, _ = top_k(np.array([0.1, 0.9, 0.5, 0.8]), 3, exclude=np.array([1]), allowed=allowed)
    assert idx.tolist() == [2, 0]


def test_k_larger_than_items_returns_all_sorted() -> None:
    idx, scores = top_k(np.array([0.3, 0.1, 0.2]), 10)
    assert idx.tolist() == [0, 2, 1]
    assert scores.tolist() == [0.3, 0.2, 0.1]


def test_minus_infinity_scores_are_never_returned() -> None:
    idx, _ = top_k(np.array([0.3, -np.inf, 0.2, -np.inf]), 4)
    assert idx.tolist() == [0, 2]


def test_everything_excluded_gives_empty_result() -> None:
    idx, scores = top_k(np.array([0.3, 0.1]), 2, exclude=np.array([0, 1]))
    assert idx.dtype == np.int64
    assert len(idx) == 0
    assert len(scores) == 0


@pytest.mark.parametrize("k", [0, -3])
def test_non_positive_k_returns_nothing(k: int) -> None:
    idx, _ = top_k(np.array([0.3, 0.1]), k)
    assert len(idx) == 0


def test_input_scores_are_not_modified() -> None:
    scores = np.array([0.3, 0.1, 0.2])
    top_k(scores, 1, exclude=np.array([0]), allowed=np.array([True, True, False]))
    assert scores.tolist() == [0.3, 0.1, 0.2]


# ---- long vectors: the sampled threshold must give exactly what a full sort gives ---------------
def _reference(scores: np.ndarray, k: int, exclude: np.ndarray | None) -> tuple[list[int], list[float]]:
    work = scores.astype(np.float64).copy()
    if exclude is not None:
        work[exclude] = -np.inf
    order = [int(i) for i in np.lexsort((np.arange(len(work)), -work)) if np.isfinite(work[i])][:k]
    return order, [float(work[i]) for i in order]


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(8_192, 60_000),
    k=st.integers(1, 100),
    n_exclude=st.integers(0, 400),
    ties=st.booleans(),
    float32=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_long_vectors_match_a_full_sort(n: int, k: int, n_exclude: int, ties: bool, float32: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal(n)
    if ties:  # few distinct values: many items tie with the k-th
        scores = np.round(scores, 1)
    if float32:  # served scores are float32
        scores = scores.astype(np.float32)
    scores[rng.choice(n, size=n // 50, replace=False)] = -np.inf  # titles without factors
    # exclusions biased to the top, like a viewer's seen titles under their own vector
    exclude = np.argsort(-scores)[rng.choice(min(n, 2 * n_exclude + 1), size=n_exclude, replace=False)]
    idx, got = top_k(scores, k, exclude=exclude if n_exclude else None)
    want_idx, want_scores = _reference(scores, k, exclude if n_exclude else None)
    assert idx.tolist() == want_idx
    assert got.tolist() == want_scores


def test_the_sampled_path_is_taken_for_long_vectors(monkeypatch: pytest.MonkeyPatch) -> None:
    from movierecs.domain import ranking

    scores = np.random.default_rng(0).standard_normal(50_000)
    assert ranking._top_k_by_sample(scores, 10, np.arange(100)) is not None
    assert ranking._top_k_by_sample(scores[:1000], 10, None) is None  # short: partition it all
    # when the sample misleads (fewer candidates than k survive), the full partition answers
    monkeypatch.setattr(ranking, "_top_k_by_sample", lambda *_a: None)
    assert top_k(scores, 10)[0].tolist() == _reference(scores, 10, None)[0]
