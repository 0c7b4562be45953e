"""One contract every recommender passes (STYLE.md rule 5).

Each model class gets a subclass of :class:`RecommenderContract` that says how to build it; the
mixin checks the output frame, batch == single, exclude-seen, save/load, seeded refit and errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from movierecs.columns import Columns
from movierecs.data.container import empty_items
from movierecs.exceptions import BundleValidationError, DataError, NotFittedError
from movierecs.models import (
    HybridConfig,
    HybridRecommender,
    IALSConfig,
    IALSRecommender,
    PopularRecommender,
    Recommender,
)
from movierecs.models.trainset import TrainingSet

N_USERS, N_ITEMS = 60, 40
K = 10


def synthetic(seed: int = 0) -> TrainingSet:
    """60 users x 40 items: two taste groups, 6-14 interactions each, weights 1..5, demographics."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(1, N_USERS + 1):
        group = user % 2
        n = int(rng.integers(6, 15))
        # group 0 prefers items 1..20, group 1 items 21..40
        p = np.where((np.arange(N_ITEMS) < N_ITEMS // 2) == (group == 0), 3.0, 1.0)
        items = rng.choice(np.arange(1, N_ITEMS + 1), size=n, replace=False, p=p / p.sum())
        for item in items:
            rows.append((user, int(item), float(rng.integers(1, 6)), int(rng.integers(0, 10**6))))
    inter = pd.DataFrame(rows, columns=[Columns.User, Columns.Item, Columns.Weight, "ts"])
    inter[Columns.Datetime] = pd.to_datetime(1_600_000_000 + inter.pop("ts"), unit="s")
    users = pd.DataFrame(
        {
            Columns.User: np.arange(1, N_USERS + 1),
            Columns.Age: rng.choice([16, 22, 30, 40, 50, 60], size=N_USERS),
            Columns.Gender: rng.choice(["M", "F"], size=N_USERS),
            Columns.Occupation: "other",
        }
    )
    items = pd.DataFrame(
        {
            Columns.Item: np.arange(1, N_ITEMS + 1),
            Columns.Title: [f"Film {i} (2000)" for i in range(1, N_ITEMS + 1)],
            Columns.Year: 2000,
            Columns.Genres: [["Comedy"] if i % 2 else ["Drama", "War"] for i in range(1, N_ITEMS + 1)],
        }
    )
    return TrainingSet(inter, items, users, inter[Columns.Datetime].max())


@pytest.fixture(scope="module")
def data() -> TrainingSet:
    return synthetic()


class RecommenderContract:
    """Mix into a ``Test*`` class and implement :meth:`make`."""

    serves_unknown_users: ClassVar[bool] = True

    def make(self) -> Recommender:
        raise NotImplementedError

    @pytest.fixture
    def model(self, data: TrainingSet) -> Recommender:
        return self.make().fit(data)

    # ---- output frame --------------------------------------------------------------------------
    def test_recommend_frame_shape(self, model: Recommender) -> None:
        reco = model.recommend([1, 2, 3], k=K)
        assert list(reco.columns) == list(Columns.Recommendations)
        assert reco[Columns.User].dtype == np.int64
        assert reco[Columns.Item].dtype == np.int64
        assert reco[Columns.Rank].dtype == np.int64
        assert reco[Columns.Score].dtype == np.float64
        for user, part in reco.groupby(Columns.User):
            assert part[Columns.Rank].tolist() == list(range(1, K + 1)), user
            assert (np.diff(part[Columns.Score].to_numpy()) <= 0).all(), user
            assert part[Columns.Item].is_unique
            assert part[Columns.Item].isin(range(1, N_ITEMS + 1)).all()
        assert sorted(reco[Columns.User].unique().tolist()) == [1, 2, 3]

    def test_batch_equals_single(self, model: Recommender) -> None:
        users = [5, 1, 33, 60]
        batch = model.recommend(users, k=K)
        single = pd.concat([model.recommend([u], k=K) for u in users], ignore_index=True)
        pd.testing.assert_frame_equal(batch, single)

    def test_exclude_seen(self, model: Recommender, data: TrainingSet) -> None:
        users = list(range(1, N_USERS + 1))
        seen = data.interactions[[Columns.User, Columns.Item]]
        reco = model.recommend(users, k=K)
        overlap = reco.merge(seen, on=[Columns.User, Columns.Item])
        assert overlap.empty
        everything = model.recommend(users, k=N_ITEMS, exclude_seen=False)
        assert not everything.merge(seen, on=[Columns.User, Columns.Item]).empty

    def test_unknown_user(self, model: Recommender) -> None:
        reco = model.recommend([10**9], k=K)
        if self.serves_unknown_users:
            assert reco[Columns.Rank].tolist() == list(range(1, K + 1))
        else:
            assert reco.empty
            assert list(reco.columns) == list(Columns.Recommendations)

    def test_genre_like_filter_via_allowed(self, model: Recommender) -> None:
        allowed = model.items.external % 2 == 1
        reco = model.recommend([1, 2], k=K, allowed=allowed)
        assert not reco.empty
        assert (reco[Columns.Item] % 2 == 1).all()

    # ---- persistence and determinism -----------------------------------------------------------
    def test_save_load_round_trip(self, model: Recommender, tmp_path: Path) -> None:
        model.save(tmp_path / "m")
        loaded = type(model).load(tmp_path / "m")
        users = [*range(1, N_USERS + 1), 10**9]
        pd.testing.assert_frame_equal(loaded.recommend(users, k=K), model.recommend(users, k=K))
        assert loaded.get_config() == model.get_config()

    def test_load_as_another_kind_fails(self, model: Recommender, tmp_path: Path) -> None:
        model.save(tmp_path / "m")
        other = PopularRecommender if not isinstance(model, PopularRecommender) else IALSRecommender
        with pytest.raises(BundleValidationError, match="model"):
            other.load(tmp_path / "m")

    def test_config_round_trip_and_extra_keys_rejected(self, model: Recommender) -> None:
        config = model.get_config()
        assert config["kind"] == model.kind
        assert type(model).from_config(config).get_config() == config
        with pytest.raises(ValidationError):
            type(model).from_config({"config": {**config["config"], "no_such_option": 1}})

    def test_seeded_refit_is_deterministic(self, data: TrainingSet) -> None:
        first = self.make().fit(data).recommend(list(range(1, N_USERS + 1)), k=K)
        second = self.make().fit(data).recommend(list(range(1, N_USERS + 1)), k=K)
        pd.testing.assert_frame_equal(first, second)

    def test_refit_replaces_what_was_learnt(self, data: TrainingSet) -> None:
        other = synthetic(seed=1)
        refit = self.make().fit(other).fit(data)
        fresh = self.make().fit(data)
        users = list(range(1, N_USERS + 1))
        pd.testing.assert_frame_equal(refit.recommend(users, k=K), fresh.recommend(users, k=K))

    # ---- errors --------------------------------------------------------------------------------
    def test_fit_on_empty_frame_raises(self, data: TrainingSet) -> None:
        empty = TrainingSet(data.interactions.iloc[:0], empty_items(), data.users, data.watermark)
        with pytest.raises(DataError, match="empty"):
            self.make().fit(empty)

    def test_recommend_before_fit_raises(self, tmp_path: Path) -> None:
        with pytest.raises(NotFittedError):
            self.make().recommend([1], k=K)
        with pytest.raises(NotFittedError):
            self.make().save(tmp_path / "m")

    @pytest.mark.parametrize("k", [0, -1])
    def test_k_below_one_raises(self, model: Recommender, k: int) -> None:
        with pytest.raises(ValueError, match="k must be"):
            model.recommend([1], k=k)


class TestPopular(RecommenderContract):
    def make(self) -> Recommender:
        return PopularRecommender()


class TestIALS(RecommenderContract):
    serves_unknown_users = False

    def make(self) -> Recommender:
        return IALSRecommender(IALSConfig(factors=8, iterations=5, regularization=1.0, seed=3))

    def test_seed_is_used(self, data: TrainingSet) -> None:
        a = IALSRecommender(IALSConfig(factors=8, iterations=5, seed=3)).fit(data)
        b = IALSRecommender(IALSConfig(factors=8, iterations=5, seed=4)).fit(data)
        assert not np.allclose(a.item_factors, b.item_factors)


class TestHybrid(RecommenderContract):
    def make(self) -> Recommender:
        return HybridRecommender(HybridConfig(ials=IALSConfig(factors=8, iterations=5, regularization=1.0, seed=3)))
