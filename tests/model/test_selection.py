"""Selection (bench/selection.py, `movierecs train` auto-tune) never reads the reported test split (#13)."""

from __future__ import annotations

import pandas as pd
import pytest

from movierecs.columns import Columns
from movierecs.data.container import RawData
from movierecs.domain.split import global_time_split, per_user_temporal_split
from movierecs.evaluation.protocol import EvalProtocol, make_split
from movierecs.models.hybrid import HybridConfig
from movierecs.models.popular import PopularConfig
from movierecs.training import tune

KEY = [Columns.User, Columns.Item, Columns.Datetime]


def _keys(frame: pd.DataFrame, cols: list[str] = KEY) -> set[tuple[object, ...]]:
    return set(frame[cols].itertuples(index=False, name=None))


@pytest.mark.parametrize("split", ["user_temporal", "global_time"])
def test_validation_is_carved_from_train_and_disjoint_from_test(raw100k: RawData, split: str) -> None:
    protocol = EvalProtocol(split=split)
    cut = per_user_temporal_split if split == "user_temporal" else global_time_split
    train, test = cut(raw100k.interactions, protocol.test_fraction)
    val_train, val_test = cut(train, protocol.test_fraction)
    assert len(val_test) > 0
    assert len(test) > 0
    test_keys = _keys(test)
    assert not _keys(val_test) & test_keys
    assert not _keys(val_train) & test_keys
    assert _keys(val_train) | _keys(val_test) == _keys(train)
    # what tune.validation_table builds from the reported split's train part is exactly that
    reported = make_split(raw100k, protocol)
    validation = make_split(reported.train_raw, protocol)
    assert _keys(validation.train_raw.interactions) == _keys(val_train)
    pairs = [Columns.User, Columns.Item]
    assert not _keys(validation.test, pairs) & _keys(reported.test, pairs)  # ml-100k: one rating per pair
    if split == "global_time":
        assert val_test[Columns.Datetime].max() <= test[Columns.Datetime].min()


def test_validation_table_only_sees_the_train_part(raw100k: RawData, monkeypatch: pytest.MonkeyPatch) -> None:
    protocol = EvalProtocol()
    reported = make_split(raw100k, protocol)
    seen: list[tuple[pd.DataFrame, pd.DataFrame]] = []
    real = tune.evaluate_models

    def spy(models, train, test, protocol, profiles=None):  # type: ignore[no-untyped-def]
        seen.append((train.interactions, test))
        return real(models, train, test, protocol, profiles)

    monkeypatch.setattr(tune, "evaluate_models", spy)
    candidates: dict[str, HybridConfig | PopularConfig] = {
        "popular": PopularConfig(segments=False),
        "trending": PopularConfig(segments=False, trending_weight=1.0),
    }
    table = tune.validation_table(reported.train_raw, candidates, protocol)
    assert set(table["model"]) == set(candidates)
    assert len(seen) == len(candidates)
    pairs = [Columns.User, Columns.Item]
    test_pairs = _keys(reported.test, pairs)
    train_pairs = _keys(reported.train_raw.interactions, pairs)
    for train, held_out in seen:
        assert not _keys(held_out, pairs) & test_pairs
        assert _keys(held_out, pairs) <= train_pairs
        assert _keys(train, pairs) <= train_pairs
