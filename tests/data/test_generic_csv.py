"""The generic interactions CSV: timestamps, rating/weight, optional items/users, and errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from movierecs.columns import Columns
from movierecs.data.loaders import load_interactions_csv
from movierecs.exceptions import DataError


def write(tmp_path: Path, text: str, name: str = "interactions.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_unix_seconds_with_rating(tmp_path: Path) -> None:
    path = write(tmp_path, "user_id,item_id,timestamp,rating\n1,10,1577836800,4.5\n2,11,1577836801,1\n")
    raw = load_interactions_csv(path)
    inter = raw.interactions
    assert inter[Columns.User].tolist() == [1, 2]
    assert inter[Columns.Item].tolist() == [10, 11]
    assert (inter[Columns.Type] == "rating").all()
    assert inter["value"].tolist() == [4.5, 1.0]
    assert inter[Columns.Datetime].tolist() == [pd.Timestamp("2020-01-01 00:00:00"),
                                                pd.Timestamp("2020-01-01 00:00:01")]  # fmt: skip
    assert raw.name == "interactions"


def test_iso_timestamps_become_naive_utc(tmp_path: Path) -> None:
    text = (
        "user_id,item_id,timestamp,weight\n"
        "1,10,2020-01-01T10:00:00Z,2.0\n"
        "1,11,2020-01-01T10:00:00+02:00,0.5\n"
        "2,10,2020-01-01 10:00:00,1\n"
    )
    inter = load_interactions_csv(write(tmp_path, text)).interactions
    assert inter[Columns.Datetime].tolist() == [pd.Timestamp("2020-01-01 10:00"),
                                                pd.Timestamp("2020-01-01 08:00"),
                                                pd.Timestamp("2020-01-01 10:00")]  # fmt: skip
    assert inter[Columns.Datetime].dt.tz is None
    assert (inter[Columns.Type] == "weight").all()
    assert inter["value"].tolist() == [2.0, 0.5, 1.0]


@pytest.mark.parametrize(
    ("stamp", "utc"),
    [
        ("2020-01-02", "2020-01-02 00:00"),
        ("2020-01-02T03:04:05", "2020-01-02 03:04:05"),
        ("2020-01-02T03:04:05.250-05:30", "2020-01-02 08:34:05.250"),
        ("2020-01-02 03:04+0100", "2020-01-02 02:04"),
    ],
)
def test_iso_forms_next_to_rows_with_an_offset(tmp_path: Path, stamp: str, utc: str) -> None:
    # a naive row must stay UTC whether it comes before or after a row with an offset
    text = f"user_id,item_id,timestamp\n1,1,{stamp}\n1,2,2021-06-01T00:00:00+09:00\n1,3,{stamp}\n"
    inter = load_interactions_csv(write(tmp_path, text)).interactions
    assert inter[Columns.Datetime].tolist() == [pd.Timestamp(utc), pd.Timestamp("2021-05-31 15:00"),
                                                pd.Timestamp(utc)]  # fmt: skip


def test_without_rating_or_weight_every_row_weighs_one(tmp_path: Path) -> None:
    inter = load_interactions_csv(write(tmp_path, "user_id,item_id,timestamp\n1,10,5\n1,11,6\n")).interactions
    assert (inter[Columns.Type] == "weight").all()
    assert inter["value"].tolist() == [1.0, 1.0]


def test_items_missing_from_the_catalog_get_bare_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "user_id,item_id,timestamp\n1,10,5\n1,11,6\n")
    items = write(tmp_path, 'item_id,title,genres\n10,"Heat (1995)",Action|Crime\n', "items.csv")
    users = write(tmp_path, "user_id,age,gender\n1,31,F\n", "users.csv")
    raw = load_interactions_csv(path, items, users)
    by_id = raw.items.set_index(Columns.Item)
    assert by_id.loc[10, Columns.Title] == "Heat (1995)"
    assert by_id.loc[10, Columns.Year] == 1995
    assert by_id.loc[10, Columns.Genres] == ["Action", "Crime"]
    assert by_id.loc[11, Columns.Title] == "Item 11"
    assert by_id.loc[11, Columns.Genres] == []
    assert raw.users.set_index(Columns.User).loc[1, Columns.Age] == 31
    assert raw.users.set_index(Columns.User).loc[1, Columns.Gender] == "F"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("user_id,timestamp,rating\n1,5,4\n", r"missing columns \['item_id'\]"),
        ("user,item,when\n1,2,3\n", r"user_id,item_id,timestamp"),
        ("user_id,item_id,timestamp\nabc,10,5\n", r"user_id must be positive integers, found 'abc'"),
        ("user_id,item_id,timestamp\n1,10.5,5\n", r"item_id must be positive integers, found 10.5"),
        ("user_id,item_id,timestamp\n1,0,5\n", r"item_id must be positive integers, found 0"),
        ("user_id,item_id,timestamp\n1,,5\n", r"item_id must be positive integers"),
        ("user_id,item_id,timestamp\n1,10,yesterday\n", r"timestamp 'yesterday' is neither unix seconds"),
        ("user_id,item_id,timestamp\n1,10,5\n2,10,\n", r"timestamp column has an empty value \(row 2\)"),
        ("user_id,item_id,timestamp,rating\n1,10,5,good\n", r"rating column has non-numeric"),
        ("user_id,item_id,timestamp,weight\n1,10,5,\n", r"weight column has non-numeric or empty"),
    ],
)
def test_bad_files_raise_data_error_naming_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(DataError, match=message) as info:
        load_interactions_csv(path)
    assert str(path) in str(info.value) or "timestamp" in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_interactions_csv(tmp_path / "nope.csv")


def test_items_csv_needs_id_and_title(tmp_path: Path) -> None:
    path = write(tmp_path, "user_id,item_id,timestamp\n1,10,5\n")
    items = write(tmp_path, "item_id,name\n10,Heat\n", "items.csv")
    with pytest.raises(DataError, match="item_id,title"):
        load_interactions_csv(path, items)
