"""IdMap: external ids <-> matrix indices."""

from __future__ import annotations

import numpy as np
import pytest

from movierecs.domain.idmap import IdMap


def test_from_ids_sorts_and_deduplicates() -> None:
    m = IdMap.from_ids([30, 10, 20, 10, 30])
    assert m.external.tolist() == [10, 20, 30]
    assert len(m) == 3


def test_round_trip_and_unknown_ids() -> None:
    m = IdMap.from_ids([30, 10, 20])
    assert m.to_internal(np.array([20, 99, 10, 5, 31])).tolist() == [1, -1, 0, -1, -1]
    assert m.to_external(np.array([2, 0])).tolist() == [30, 10]
    assert m.index_of(30) == 2
    assert m.index_of(25) == -1
    ids = np.array([10, 20, 30])
    assert m.to_external(m.to_internal(ids)).tolist() == ids.tolist()


def test_empty_map_knows_nothing() -> None:
    m = IdMap(np.empty(0, dtype=np.int64))
    assert len(m) == 0
    assert m.to_internal(np.array([1, 2])).tolist() == [-1, -1]
    assert m.index_of(1) == -1


@pytest.mark.parametrize("bad", [np.array([1, 1, 2]), np.array([3, 2]), np.array([[1, 2]])])
def test_rejects_unsorted_duplicate_or_2d_ids(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        IdMap(bad)


def test_large_int64_ids() -> None:
    big = 2**62
    m = IdMap.from_ids([big, 1])
    assert m.index_of(big) == 1
    assert m.to_internal(np.array([big + 1])).tolist() == [-1]
