"""Loaders: MovieLens (100k, 1m, latest-small, 25m, 32m) and the generic interactions CSV."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from movierecs.columns import Columns
from movierecs.data.container import RawData, empty_items, empty_users
from movierecs.exceptions import DataError, DatasetNotFoundError

ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
    "War", "Western",
)  # fmt: skip
ML1M_OCCUPATIONS = (
    "other", "academic/educator", "artist", "clerical/admin", "college/grad student",
    "customer service", "doctor/health care", "executive/managerial", "farmer", "homemaker",
    "K-12 student", "lawyer", "programmer", "retired", "sales/marketing", "scientist",
    "self-employed", "technician/engineer", "tradesman/craftsman", "unemployed", "writer",
)  # fmt: skip
_YEAR_IN_TITLE = re.compile(r"\((\d{4})\)\s*$")
_TZ_SUFFIX = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$")


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset comes from and which files make a complete copy."""

    name: str
    archive: str
    files: tuple[str, ...]
    loader: Callable[[Path], RawData]
    md5: str | None = None  # pinned archive checksum; else the published <archive>.md5 is used


def _year_from_title(title: str) -> int | None:
    match = _YEAR_IN_TITLE.search(title.strip())
    return int(match.group(1)) if match else None


def _years(titles: pd.Series) -> pd.Series:
    return titles.map(_year_from_title).astype("Int64")


def _ratings_frame(user: pd.Series, item: pd.Series, rating: pd.Series, ts: pd.Series) -> pd.DataFrame:
    return pd.DataFrame(
        {
            Columns.User: user.astype("int64"),
            Columns.Item: item.astype("int64"),
            Columns.Type: "rating",
            "value": rating.astype("float32"),
            Columns.Datetime: pd.to_datetime(ts.astype("int64"), unit="s"),
        }
    )


def load_ml100k(folder: Path) -> RawData:
    raw = pd.read_csv(folder / "u.data", sep="\t", header=None, names=["u", "i", "r", "t"], engine="c")
    inter = _ratings_frame(raw["u"], raw["i"], raw["r"], raw["t"])
    item_cols = ["item_id", "title", "release", "video", "url", *ML100K_GENRES]
    items_raw = pd.read_csv(
        folder / "u.item", sep="|", header=None, names=item_cols, encoding="latin-1", dtype={"title": str}
    )
    flags = items_raw[list(ML100K_GENRES[1:])].to_numpy(dtype=bool)
    names = np.array(ML100K_GENRES[1:], dtype=object)
    release_year = pd.to_datetime(items_raw["release"], format="%d-%b-%Y", errors="coerce").dt.year
    items = pd.DataFrame(
        {
            Columns.Item: items_raw["item_id"].astype("int64"),
            Columns.Title: items_raw["title"].fillna("").str.strip(),
            Columns.Year: _years(items_raw["title"].fillna("")).fillna(release_year.astype("Int64")),
            Columns.Genres: [list(names[row]) for row in flags],
        }
    )
    users_raw = pd.read_csv(
        folder / "u.user", sep="|", header=None, names=["user_id", "age", "gender", "occupation", "zip"]
    )
    users = users_raw[[Columns.User, Columns.Age, Columns.Gender, Columns.Occupation]].copy()
    return RawData(inter, items, users, "ml-100k")


def _read_dat(path: Path, names: list[str]) -> pd.DataFrame:
    return pd.read_csv(path, sep="::", engine="python", header=None, names=names, encoding="latin-1")


def load_ml1m(folder: Path) -> RawData:
    raw = pd.read_csv(folder / "ratings.dat", sep=":", header=None, usecols=[0, 2, 4, 6], names=["u", "i", "r", "t"])
    inter = _ratings_frame(raw["u"], raw["i"], raw["r"], raw["t"])
    movies = _read_dat(folder / "movies.dat", ["item_id", "title", "genres"])
    items = pd.DataFrame(
        {
            Columns.Item: movies["item_id"].astype("int64"),
            Columns.Title: movies["title"].str.strip(),
            Columns.Year: _years(movies["title"]),
            Columns.Genres: movies["genres"].str.split("|"),
        }
    )
    users_raw = _read_dat(folder / "users.dat", ["user_id", "gender", "age", "occupation", "zip"])
    users = pd.DataFrame(
        {
            Columns.User: users_raw["user_id"].astype("int64"),
            Columns.Age: users_raw["age"].astype("Int64"),
            Columns.Gender: users_raw["gender"],
            Columns.Occupation: users_raw["occupation"].map(dict(enumerate(ML1M_OCCUPATIONS))),
        }
    )
    return RawData(inter, items, users, "ml-1m")


def _load_ml_csv(folder: Path, name: str) -> RawData:
    raw = pd.read_csv(
        folder / "ratings.csv",
        dtype={"userId": "int64", "movieId": "int64", "rating": "float32", "timestamp": "int64"},
    )
    inter = _ratings_frame(raw["userId"], raw["movieId"], raw["rating"], raw["timestamp"])
    movies = pd.read_csv(folder / "movies.csv", dtype={"title": str, "genres": str})
    genres = movies["genres"].fillna("").map(lambda g: [] if g in ("", "(no genres listed)") else g.split("|"))
    items = pd.DataFrame(
        {
            Columns.Item: movies["movieId"].astype("int64"),
            Columns.Title: movies["title"].fillna("").str.strip(),
            Columns.Year: _years(movies["title"].fillna("")),
            Columns.Genres: genres,
        }
    )
    return RawData(inter, items, empty_users(), name)


DATASETS: dict[str, DatasetSpec] = {
    "ml-100k": DatasetSpec(
        "ml-100k", "ml-100k.zip", ("u.data", "u.item", "u.user"), load_ml100k,
        md5="0e33842e24a9c977be4e0107933c0723",
    ),
    "ml-1m": DatasetSpec("ml-1m", "ml-1m.zip", ("ratings.dat", "movies.dat", "users.dat"), load_ml1m),
    "ml-latest-small": DatasetSpec(
        "ml-latest-small", "ml-latest-small.zip", ("ratings.csv", "movies.csv"),
        lambda f: _load_ml_csv(f, "ml-latest-small"),
    ),
    "ml-25m": DatasetSpec(
        "ml-25m", "ml-25m.zip", ("ratings.csv", "movies.csv"), lambda f: _load_ml_csv(f, "ml-25m")
    ),
    "ml-32m": DatasetSpec(
        "ml-32m", "ml-32m.zip", ("ratings.csv", "movies.csv"), lambda f: _load_ml_csv(f, "ml-32m")
    ),
}  # fmt: skip


def spec_for(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}") from None


def dataset_folder(name: str, data_dir: Path) -> Path:
    return data_dir / spec_for(name).name


def is_complete(name: str, data_dir: Path) -> bool:
    """True when ``data_dir/<name>`` holds every file the loader needs, each non-empty."""
    folder = dataset_folder(name, data_dir)
    return all((folder / f).is_file() and (folder / f).stat().st_size > 0 for f in spec_for(name).files)


def load_dataset(name: str, data_dir: Path) -> RawData:
    """Load a MovieLens dataset already present in ``data_dir`` (see ``movierecs data download``)."""
    spec = spec_for(name)
    if not is_complete(name, data_dir):
        raise DatasetNotFoundError(
            f"{name} is not in {data_dir}; run `movierecs data download --dataset {name}` "
            "or set MOVIERECS_DATA_DIR to a folder that holds it"
        )
    return spec.loader(dataset_folder(name, data_dir))


def _parse_timestamps(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values):
        if values.isna().any():
            raise DataError(f"timestamp column has an empty value (row {int(values.isna().argmax()) + 1})")
        return pd.to_datetime(values.astype("int64"), unit="s")
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all():
        return pd.to_datetime(numeric.astype("int64"), unit="s")
    # pandas' ISO8601 parser applies the last seen UTC offset to later naive strings, so strings
    # with and without an offset are parsed apart (naive ones are UTC)
    text = values.astype(str).str.strip()
    aware = text.str.contains(_TZ_SUFFIX).to_numpy()
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    for part in (aware, ~aware):
        if part.any():
            parsed[part] = pd.to_datetime(text[part], errors="coerce", utc=True, format="ISO8601")
    if parsed.isna().any():
        bad = values[parsed.isna()].iloc[0]
        raise DataError(f"timestamp {bad!r} is neither unix seconds nor ISO-8601")
    return parsed.dt.tz_convert("UTC").dt.tz_localize(None)


def _read_ids(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    ids = pd.to_numeric(frame[column], errors="coerce")
    if ids.isna().any() or (ids % 1 != 0).any() or (ids < 1).any():
        bad = frame.loc[ids.isna() | (ids % 1 != 0) | (ids < 1), column].iloc[0]
        raise DataError(f"{path}: {column} must be positive integers, found {bad!r}")
    return ids.astype("int64")


def load_interactions_csv(path: Path, items_path: Path | None = None, users_path: Path | None = None) -> RawData:
    """Load the generic CSV: header, ``user_id,item_id,timestamp`` plus ``rating`` or ``weight``."""
    if not path.is_file():
        raise DataError(f"interactions file {path} does not exist")
    frame = pd.read_csv(path)
    missing = [c for c in (Columns.User, Columns.Item, "timestamp") if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing columns {missing}; need user_id,item_id,timestamp + rating|weight")
    if Columns.Rating in frame.columns:
        kind, values = "rating", frame[Columns.Rating]
    elif Columns.Weight in frame.columns:
        kind, values = "weight", frame[Columns.Weight]
    else:
        kind, values = "weight", pd.Series(1.0, index=frame.index)
    values = pd.to_numeric(values, errors="coerce")
    if values.isna().any():
        raise DataError(f"{path}: {kind} column has non-numeric or empty values")
    inter = pd.DataFrame(
        {
            Columns.User: _read_ids(frame, Columns.User, path),
            Columns.Item: _read_ids(frame, Columns.Item, path),
            Columns.Type: kind,
            "value": values.astype("float32"),
            Columns.Datetime: _parse_timestamps(frame["timestamp"]),
        }
    )
    items = load_items_csv(items_path) if items_path else empty_items()
    users = load_users_csv(users_path) if users_path else empty_users()
    return RawData(inter, items, users, path.stem).with_items_from_interactions()


def load_items_csv(path: Path) -> pd.DataFrame:
    """Items CSV: ``item_id,title`` and optionally ``year`` and ``genres`` (``|``-separated)."""
    frame = pd.read_csv(path)
    if Columns.Item not in frame.columns or Columns.Title not in frame.columns:
        raise DataError(f"{path}: items CSV needs item_id,title[,year][,genres]")
    years = frame[Columns.Year] if Columns.Year in frame.columns else _years(frame[Columns.Title].astype(str))
    genres = frame[Columns.Genres] if Columns.Genres in frame.columns else pd.Series([""] * len(frame))
    return pd.DataFrame(
        {
            Columns.Item: _read_ids(frame, Columns.Item, path),
            Columns.Title: frame[Columns.Title].astype(str),
            Columns.Year: pd.to_numeric(years, errors="coerce").astype("Int64"),
            Columns.Genres: genres.fillna("").astype(str).map(lambda g: [x for x in g.split("|") if x]),
        }
    )


def load_users_csv(path: Path) -> pd.DataFrame:
    """Users CSV: ``user_id`` and any of ``age,gender,occupation``."""
    frame = pd.read_csv(path)
    if Columns.User not in frame.columns:
        raise DataError(f"{path}: users CSV needs a user_id column")
    out = pd.DataFrame({Columns.User: _read_ids(frame, Columns.User, path)})
    out[Columns.Age] = pd.to_numeric(frame.get(Columns.Age), errors="coerce").astype("Int64")
    for col in (Columns.Gender, Columns.Occupation):
        out[col] = frame[col].astype("string") if col in frame.columns else None
    return out
