"""Closed-form fold-in against hand-computed answers and implicit's recalculate_user."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares

from movierecs.domain.foldin import fold_in
from movierecs.models.hybrid import merge_history


def test_identity_factors_hand_computed() -> None:
    y = np.eye(2)
    # A = YtY + λI + (c - 1) y0 y0ᵀ = diag(1 + 1 + 2, 1 + 1); b = c y0 = (3, 0)
    x = fold_in(y, y.T @ y, np.array([0]), np.array([3.0]), regularization=1.0)
    assert x.tolist() == pytest.approx([0.75, 0.0])


def test_alpha_scales_the_weights() -> None:
    y = np.eye(2)
    a = fold_in(y, y.T @ y, np.array([0]), np.array([1.5]), regularization=1.0, alpha=2.0)
    b = fold_in(y, y.T @ y, np.array([0]), np.array([3.0]), regularization=1.0)
    assert a.tolist() == pytest.approx(b.tolist())


def test_negative_weight_hand_computed() -> None:
    y = np.array([[1.0, 0.0], [0.0, 2.0]])
    gram = y.T @ y  # diag(1, 4)
    # item 0 liked (c=1), item 1 disliked (c=-3): A = diag(1+1, 4+1) + (3-1)*diag(0, 4) = diag(2, 13)
    # b = 1 * y0 (the dislike adds no target) = (1, 0)
    x = fold_in(y, gram, np.array([0, 1]), np.array([1.0, -3.0]), regularization=1.0)
    assert x.tolist() == pytest.approx([0.5, 0.0])


@pytest.fixture(scope="module")
def fitted() -> tuple[AlternatingLeastSquares, sp.csr_matrix]:
    rng = np.random.default_rng(7)
    dense = (rng.random((40, 25)) < 0.25) * rng.integers(1, 6, size=(40, 25))
    user_items = sp.csr_matrix(dense.astype(np.float32))
    model = AlternatingLeastSquares(
        factors=6, regularization=0.3, alpha=2.0, iterations=5, random_state=1, num_threads=1
    )
    model.fit(user_items, show_progress=False)
    return model, user_items


def test_matches_implicit_recalculate_user(fitted: tuple[AlternatingLeastSquares, sp.csr_matrix]) -> None:
    model, user_items = fitted
    y = np.asarray(model.item_factors)
    for u in (0, 5, 17, 39):
        row = user_items[u]
        expected = model.recalculate_user(u, row)
        got = fold_in(y, y.T @ y, row.indices, row.data, model.regularization, model.alpha)
        assert np.abs(expected).max() > 1e-3  # a non-trivial vector
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-3)


def test_negative_weights_match_implicit(fitted: tuple[AlternatingLeastSquares, sp.csr_matrix]) -> None:
    model, _ = fitted
    y = np.asarray(model.item_factors)
    items = np.array([1, 4, 9, 13, 20])
    weights = np.array([3.0, -2.0, 1.0, -1.0, 5.0], dtype=np.float32)
    row = sp.csr_matrix((weights, (np.zeros(len(items), dtype=int), items)), shape=(1, y.shape[0]))
    expected = model.recalculate_user(0, row)
    got = fold_in(y, y.T @ y, items, weights, model.regularization, model.alpha)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-3)
    positive_only = fold_in(y, y.T @ y, items[weights > 0], weights[weights > 0], model.regularization, model.alpha)
    assert not np.allclose(got, positive_only, atol=1e-4)  # the dislikes did change the vector


def test_empty_history_gives_zeros() -> None:
    y = np.ones((3, 4), dtype=np.float32)
    x = fold_in(y, y.T @ y, np.array([], dtype=np.int64), np.array([]), regularization=1.0)
    assert x.shape == (4,)
    assert x.dtype == np.float32
    assert not x.any()


def test_zero_weights_are_ignored() -> None:
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    with_zero = fold_in(y, y.T @ y, np.array([0, 1]), np.array([2.0, 0.0]), regularization=0.5)
    without = fold_in(y, y.T @ y, np.array([0]), np.array([2.0]), regularization=0.5)
    assert with_zero.tolist() == pytest.approx(without.tolist())
    only_zero = fold_in(y, y.T @ y, np.array([1]), np.array([0.0]), regularization=0.5)
    assert not only_zero.any()


def test_merge_history_newer_weight_replaces_older() -> None:
    items, weights = merge_history(
        np.array([1, 2, 7]), np.array([1.0, 1.0, 4.0]), np.array([7, 2, 5]), np.array([-1.0, 3.0, 1.0])
    )
    assert items.tolist() == [1, 2, 5, 7]
    assert weights.tolist() == [1.0, 3.0, 1.0, -1.0]
    assert weights.dtype == np.float32


def test_merge_history_with_empty_parts() -> None:
    empty_i, empty_w = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    items, weights = merge_history(empty_i, empty_w, np.array([3, 1]), np.array([1.0, 2.0]))
    assert items.tolist() == [1, 3]
    assert weights.tolist() == [2.0, 1.0]
    items, weights = merge_history(np.array([4]), np.array([2.0]), empty_i, empty_w)
    assert items.tolist() == [4]
    assert weights.tolist() == [2.0]
