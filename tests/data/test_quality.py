"""Data quality of the ml-100k extract as the loader returns it: nulls, duplicates, ranges, joins."""

from __future__ import annotations

import pandas as pd

from movierecs.columns import Columns
from movierecs.data.container import RawData
from movierecs.data.loaders import ML100K_GENRES


def test_no_null_ids_or_timestamps(ml100k: RawData) -> None:
    inter = ml100k.interactions
    assert not inter[[Columns.User, Columns.Item, "value", Columns.Datetime]].isna().any().any()
    assert not ml100k.items[Columns.Item].isna().any()
    assert not ml100k.users[Columns.User].isna().any()


def test_ids_are_positive_int64(ml100k: RawData) -> None:
    for col in (Columns.User, Columns.Item):
        assert ml100k.interactions[col].dtype == "int64"
        assert ml100k.interactions[col].min() >= 1


def test_no_duplicate_user_item_pairs(ml100k: RawData) -> None:
    assert not ml100k.interactions.duplicated([Columns.User, Columns.Item]).any()
    assert ml100k.items[Columns.Item].is_unique
    assert ml100k.users[Columns.User].is_unique


def test_ratings_and_times_in_range(ml100k: RawData) -> None:
    values = ml100k.interactions["value"]
    assert set(values.unique().tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    ts = ml100k.interactions[Columns.Datetime]
    # ml-100k was collected September 1997 through April 1998
    assert ts.min() >= pd.Timestamp("1997-09-01")
    assert ts.max() < pd.Timestamp("1998-05-01")


def test_every_interaction_joins_the_catalog_and_users(ml100k: RawData) -> None:
    assert ml100k.interactions[Columns.Item].isin(ml100k.items[Columns.Item]).all()
    assert ml100k.interactions[Columns.User].isin(ml100k.users[Columns.User]).all()


def test_every_user_has_at_least_20_ratings(ml100k: RawData) -> None:
    # the README: "Each user has rated at least 20 movies"
    assert ml100k.interactions.groupby(Columns.User).size().min() >= 20


def test_item_attributes(ml100k: RawData) -> None:
    items = ml100k.items
    assert (items[Columns.Title].str.len() > 0).all()
    years = items[Columns.Year].dropna()
    assert len(years) >= 1680
    assert years.between(1920, 1998).all()
    genres = {g for gl in items[Columns.Genres] for g in gl}
    assert genres == set(ML100K_GENRES[1:])
    assert (items[Columns.Genres].map(len) > 0).sum() >= 1680


def test_user_attributes(ml100k: RawData) -> None:
    users = ml100k.users
    assert not users[[Columns.Age, Columns.Gender, Columns.Occupation]].isna().any().any()
    assert users[Columns.Gender].isin(["M", "F"]).all()
