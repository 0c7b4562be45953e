"""Per-slice offline quality on ml-100k: the hybrid must beat popularity where it personalises."""

from __future__ import annotations

import pandas as pd
import pytest

from movierecs.data.container import RawData
from movierecs.evaluation.protocol import EvalProtocol, make_split
from movierecs.evaluation.report import evaluate_models, user_slices
from movierecs.models.hybrid import HybridConfig, HybridRecommender
from movierecs.models.popular import PopularConfig, PopularRecommender
from movierecs.training.commands import _profiles


@pytest.fixture(scope="module")
def table(raw100k: RawData) -> pd.DataFrame:
    protocol = EvalProtocol(split="user_temporal", test_fraction=0.2, k=10)
    split = make_split(raw100k, protocol)
    config = HybridConfig()
    train = split.training_set(config.weighting)
    models = {
        "hybrid": HybridRecommender(config).fit(train),
        "popular": PopularRecommender(PopularConfig(segments=False)).fit(train),
    }
    return evaluate_models(models, train, split.test, protocol, _profiles(raw100k.users))


def metric(table: pd.DataFrame, model: str, slice_name: str, name: str = "ndcg@10") -> float:
    row = table[(table["model"] == model) & (table["slice"] == slice_name)]
    assert len(row) == 1, (model, slice_name)
    return float(row[name].iloc[0])


def test_hybrid_beats_popularity_for_warm_users(table: pd.DataFrame) -> None:
    assert metric(table, "hybrid", "warm") > metric(table, "popular", "warm")
    assert metric(table, "hybrid", "warm", "recall@10") > metric(table, "popular", "warm", "recall@10")


def test_hybrid_beats_popularity_for_heavy_and_all_users(table: pd.DataFrame) -> None:
    assert metric(table, "hybrid", "heavy") > metric(table, "popular", "heavy")
    assert metric(table, "hybrid", "all") > metric(table, "popular", "all")


def test_hybrid_covers_more_of_the_catalog(table: pd.DataFrame) -> None:
    assert metric(table, "hybrid", "all", "coverage@10") > metric(table, "popular", "all", "coverage@10")


def test_slices_partition_the_test_users(table: pd.DataFrame) -> None:
    sizes = table[table["model"] == "hybrid"].set_index("slice")["n_users"]
    # every ml-100k user has >= 20 ratings, so a 20 % hold-out leaves nobody cold
    assert "cold" not in sizes.index
    assert sizes["all"] == 943
    assert sizes["warm"] + sizes["heavy"] == sizes["all"]
    for col in ("ndcg@10", "recall@10", "precision@10", "map@10"):
        assert table[col].between(0, 1).all()


def test_global_time_split_has_cold_users_served_by_popularity(raw100k: RawData) -> None:
    protocol = EvalProtocol(split="global_time", test_fraction=0.1, k=10)
    split = make_split(raw100k, protocol)
    train = split.training_set(HybridConfig().weighting)
    slices = user_slices(train, split.test["user_id"].unique(), protocol)
    assert (slices == "cold").sum() > 0
    pop = PopularRecommender(PopularConfig(segments=False)).fit(train)
    cold = slices.index[slices == "cold"].to_numpy()
    reco = pop.recommend(cold[:3], k=10)
    assert reco.groupby("user_id").size().tolist() == [10, 10, 10]
