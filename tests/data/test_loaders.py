"""Every MovieLens loader: ml-100k from the shared folder, the others from tiny hand-made copies
written in the real file formats."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from movierecs.columns import Columns
from movierecs.data.container import RawData
from movierecs.data.loaders import DATASETS, is_complete, load_dataset
from movierecs.exceptions import DataError, DatasetNotFoundError


def items_by_id(raw: RawData) -> pd.DataFrame:
    return raw.items.set_index(Columns.Item)


# ---- ml-100k (shared copy) ------------------------------------------------------------------------
def test_ml100k_counts(ml100k: RawData) -> None:
    # the counts the ml-100k README states
    assert len(ml100k.interactions) == 100_000
    assert ml100k.interactions[Columns.User].nunique() == 943
    assert ml100k.interactions[Columns.Item].nunique() == 1682
    assert len(ml100k.items) == 1682
    assert len(ml100k.users) == 943
    assert ml100k.name == "ml-100k"


def test_ml100k_interaction_columns(ml100k: RawData) -> None:
    inter = ml100k.interactions
    assert list(inter.columns) == [Columns.User, Columns.Item, Columns.Type, "value", Columns.Datetime]
    assert (inter[Columns.Type] == "rating").all()
    first = inter.iloc[0]  # u.data line 1: 196  242  3  881250949
    assert (first[Columns.User], first[Columns.Item], first["value"]) == (196, 242, 3.0)
    assert first[Columns.Datetime] == pd.Timestamp(881250949, unit="s")


def test_ml100k_items_titles_years_genres(ml100k: RawData) -> None:
    items = items_by_id(ml100k)
    assert items.loc[1, Columns.Title] == "Toy Story (1995)"
    assert items.loc[1, Columns.Year] == 1995
    assert sorted(items.loc[1, Columns.Genres]) == ["Animation", "Children's", "Comedy"]
    assert sorted(items.loc[2, Columns.Genres]) == ["Action", "Adventure", "Thriller"]
    assert items.loc[50, Columns.Title] == "Star Wars (1977)"
    assert items.loc[50, Columns.Year] == 1977
    # item 267 is "unknown" with no date and only the "unknown" genre flag (not kept as a genre)
    assert pd.isna(items.loc[267, Columns.Year])
    assert items.loc[267, Columns.Genres] == []
    assert "unknown" not in {g for gl in items[Columns.Genres] for g in gl}


def test_ml100k_users_demographics(ml100k: RawData) -> None:
    users = ml100k.users.set_index(Columns.User)
    assert users.loc[1].tolist() == [24, "M", "technician"]  # u.user line 1
    assert users.loc[2].tolist() == [53, "F", "other"]
    assert set(users[Columns.Gender]) == {"M", "F"}
    assert users[Columns.Age].between(7, 73).all()
    assert users[Columns.Occupation].nunique() == 21  # u.occupation lists 21


# ---- ml-1m (hand-made .dat files) -----------------------------------------------------------------
def write_ml1m(root: Path) -> Path:
    folder = root / "ml-1m"
    folder.mkdir(parents=True)
    (folder / "ratings.dat").write_bytes(b"1::1193::5::978300760\n1::661::3::978302109\n2::3408::4::978298759\n")
    movies = (
        "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
        "661::James and the Giant Peach (1996)::Animation|Children's|Musical\n"
        "3408::Misérables, Les (1995)::Drama|Musical\n"
    )
    (folder / "movies.dat").write_bytes(movies.encode("latin-1"))
    (folder / "users.dat").write_bytes(b"1::F::1::10::48067\n2::M::56::16::70072\n")
    return root


def test_ml1m(tmp_path: Path) -> None:
    raw = load_dataset("ml-1m", write_ml1m(tmp_path))
    inter = raw.interactions
    assert inter[[Columns.User, Columns.Item]].to_numpy().tolist() == [[1, 1193], [1, 661], [2, 3408]]
    assert inter["value"].tolist() == [5.0, 3.0, 4.0]
    assert inter[Columns.Datetime].iloc[0] == pd.Timestamp(978300760, unit="s")
    items = items_by_id(raw)
    assert items.loc[3408, Columns.Title] == "Misérables, Les (1995)"
    assert items.loc[3408, Columns.Year] == 1995
    assert items.loc[661, Columns.Genres] == ["Animation", "Children's", "Musical"]
    users = raw.users.set_index(Columns.User)
    assert users.loc[1].tolist() == [1, "F", "K-12 student"]
    assert users.loc[2].tolist() == [56, "M", "self-employed"]
    assert raw.name == "ml-1m"


# ---- ml-latest(-small), ml-25m, ml-32m (hand-made CSVs) -------------------------------------------
RATINGS_CSV = "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,3.5,964981247\n2,193609,0.5,1537109082\n"
MOVIES_CSV = (
    "movieId,title,genres\n"
    "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
    '3,"American President, The (1995)",Comedy|Drama|Romance\n'
    "193609,Andrew Dice Clay: Dice Rules (1991),(no genres listed)\n"
    "200000,Babylon 5,Sci-Fi\n"
)


@pytest.mark.parametrize("name", ["ml-latest-small", "ml-25m", "ml-32m"])
def test_ml_csv_formats(tmp_path: Path, name: str) -> None:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "ratings.csv").write_text(RATINGS_CSV)
    (folder / "movies.csv").write_text(MOVIES_CSV)
    raw = load_dataset(name, tmp_path)
    assert raw.name == name
    assert raw.interactions["value"].tolist() == [4.0, 3.5, 0.5]
    assert raw.interactions[Columns.Item].tolist() == [1, 3, 193609]
    assert raw.interactions[Columns.Datetime].iloc[2] == pd.Timestamp(1537109082, unit="s")
    items = items_by_id(raw)
    assert items.loc[3, Columns.Title] == "American President, The (1995)"
    assert items.loc[3, Columns.Genres] == ["Comedy", "Drama", "Romance"]
    assert items.loc[193609, Columns.Genres] == []
    assert items.loc[193609, Columns.Year] == 1991
    assert pd.isna(items.loc[200000, Columns.Year])
    assert raw.users.empty
    assert list(raw.users.columns) == [Columns.User, Columns.Age, Columns.Gender, Columns.Occupation]


# ---- presence checks ------------------------------------------------------------------------------
def test_missing_dataset_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="movierecs data download --dataset ml-1m"):
        load_dataset("ml-1m", tmp_path)


def test_incomplete_or_empty_copy_is_not_complete(tmp_path: Path) -> None:
    write_ml1m(tmp_path)
    assert is_complete("ml-1m", tmp_path)
    (tmp_path / "ml-1m" / "users.dat").write_bytes(b"")
    assert not is_complete("ml-1m", tmp_path)
    (tmp_path / "ml-1m" / "users.dat").unlink()
    with pytest.raises(DatasetNotFoundError):
        load_dataset("ml-1m", tmp_path)


def test_unknown_dataset_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="ml-100k, ml-1m"):
        load_dataset("ml-10k", tmp_path)
    assert set(DATASETS) == {"ml-100k", "ml-1m", "ml-latest-small", "ml-25m", "ml-32m"}
