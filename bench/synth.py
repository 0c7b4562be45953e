"""A synthetic ML-25M-shaped model bundle, generated from a seed (never downloaded) and cached.

    python bench/synth.py [--users 162000] [--items 59000] [--interactions 25000000] [--seed 25]

Viewer activity and title popularity are power laws (Zipf-like, as in MovieLens: a few titles take
most ratings, most viewers rate a few dozen titles, a few rate thousands). Titles carry a title,
a year and 1–3 genres from the 19 MovieLens genres; 70% of viewers carry age, gender and
occupation. The bundle is built without the evaluation stage: ``TrainingSet.from_raw`` →
``HybridRecommender(config).fit`` → ``Bundle(model, meta).save``. Cached under
``.bench-cache/synth-<params>/`` (the folder name is the parameters), so a rerun is instant.
Prints generation and fit times and the bundle's size.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

CACHE = Path(__file__).resolve().parent.parent / ".bench-cache"
GENRES = (
    "Action",
    "Adventure",
    "Animation",
    "Children",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "IMAX",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
OCCUPATIONS = ("student", "engineer", "educator", "writer", "programmer", "artist", "doctor", "other")


@dataclass(frozen=True)
class Shape:
    users: int = 162_000
    items: int = 59_000
    interactions: int = 25_000_000
    seed: int = 25

    @property
    def key(self) -> str:
        return f"synth-u{self.users}-i{self.items}-n{self.interactions}-s{self.seed}"


SCALES = {
    "small": Shape(users=20_000, items=50_000, interactions=2_000_000),
    "full": Shape(users=162_000, items=59_000, interactions=25_000_000),
}


def generate(shape: Shape) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(interactions, items, users) frames in RawData's columns."""
    rng = np.random.default_rng(shape.seed)
    # viewer activity: Pareto-like, at least 20 per viewer (MovieLens keeps viewers with >= 20)
    activity = 20 + rng.pareto(1.2, shape.users) * 40
    activity = np.minimum(activity, shape.items // 3)
    activity = np.maximum(20, activity * (shape.interactions / activity.sum())).astype(np.int64)
    # title popularity: Zipf over a random permutation of item ids (exponent ~1, MovieLens-like head)
    ranks = np.arange(1, shape.items + 1, dtype=np.float64)
    pop = 1.0 / (ranks + 10.0) ** 1.05
    pop /= pop.sum()
    perm = rng.permutation(shape.items) + 1  # item id of popularity rank r
    need = activity.copy()
    users_out, items_out = [], []
    for _ in range(6):  # sample, drop duplicate (viewer, title) pairs, top up the viewers still short
        todo = np.flatnonzero(need > 0)
        if not len(todo):
            break
        counts = np.ceil(need[todo] * 1.15).astype(np.int64)
        u = np.repeat(todo, counts)
        i = perm[rng.choice(shape.items, size=len(u), p=pop)]
        users_out.append(u)
        items_out.append(i)
        keys = np.unique(np.concatenate(users_out).astype(np.int64) * (shape.items + 1) + np.concatenate(items_out))
        users_out, items_out = [keys // (shape.items + 1)], [keys % (shape.items + 1)]
        have = np.bincount(users_out[0], minlength=shape.users)
        need = activity - have
    keys = users_out[0] * (shape.items + 1) + items_out[0]
    if len(keys) > shape.interactions:
        keys = np.sort(rng.choice(keys, size=shape.interactions, replace=False))
    u = (keys // (shape.items + 1)).astype(np.int64) + 1
    i = (keys % (shape.items + 1)).astype(np.int64)
    n = len(u)
    start = int(datetime(2015, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp())
    inter = pd.DataFrame(
        {
            "user_id": u,
            "item_id": i,
            "type": "rating",
            "value": rng.choice(
                np.arange(1, 11) / 2, size=n, p=[0.01, 0.03, 0.02, 0.07, 0.05, 0.2, 0.14, 0.25, 0.1, 0.13]
            ),
            "datetime": pd.to_datetime(rng.integers(start, end, size=n), unit="s"),
        }
    )
    n_genres = rng.choice([1, 2, 3], size=shape.items, p=[0.45, 0.35, 0.2])
    genre_pop = np.array([18, 9, 3, 4, 16, 7, 3, 25, 4, 1, 5, 1, 2, 3, 9, 5, 11, 2, 1], dtype=float)
    genre_pop /= genre_pop.sum()
    items = pd.DataFrame(
        {
            "item_id": np.arange(1, shape.items + 1, dtype=np.int64),
            "title": [f"Synthetic Title {k}" for k in range(1, shape.items + 1)],
            "year": rng.integers(1920, 2020, size=shape.items),
            "genres": [list(rng.choice(GENRES, size=g, replace=False, p=genre_pop)) for g in n_genres],
        }
    )
    known = rng.random(shape.users) < 0.7
    users = pd.DataFrame(
        {
            "user_id": np.arange(1, shape.users + 1, dtype=np.int64),
            "age": pd.array(np.where(known, rng.integers(16, 70, size=shape.users), -1), dtype="Int64"),
            "gender": np.where(known, rng.choice(["M", "F"], size=shape.users, p=[0.7, 0.3]), None),
            "occupation": np.where(known, rng.choice(OCCUPATIONS, size=shape.users), None),
        }
    )
    users.loc[~known, "age"] = pd.NA
    return inter, items, users


def build(shape: Shape, say: bool = True) -> tuple[Path, dict[str, float]]:
    """The cached bundle folder for ``shape`` (built on first use) and its timings."""
    folder = CACHE / shape.key
    stats_file = folder / "bench-stats.json"
    if stats_file.is_file():
        stats = json.loads(stats_file.read_text())
        stats["cached"] = 1.0
        return folder / "bundle", stats
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from movierecs.data.container import RawData
    from movierecs.models import HybridConfig, HybridRecommender, TrainingSet
    from movierecs.models.bundle import Bundle

    tick = time.perf_counter()
    inter, items, users = generate(shape)
    gen_s = time.perf_counter() - tick
    if say:
        print(
            f"generated {len(inter):,} interactions, {shape.users:,} viewers, {shape.items:,} titles in {gen_s:.1f} s",
            flush=True,
        )
    raw = RawData(inter, items, users, shape.key)
    config = HybridConfig()
    tick = time.perf_counter()
    data = TrainingSet.from_raw(raw, config.weighting)
    model = HybridRecommender(config).fit(data)
    fit_s = time.perf_counter() - tick
    meta = {
        "model_name": "movierecs",
        "trained_at": datetime.now(UTC).isoformat(),
        "watermark": data.watermark.isoformat(),
        "dataset": shape.key,
        "fingerprint": data.fingerprint,
        "metrics": {},
        "config": config.model_dump(mode="json"),
        "training_seconds": {"fit": fit_s},
    }
    Bundle(model, meta).save(folder / "bundle")
    size = sum(p.stat().st_size for p in (folder / "bundle").rglob("*") if p.is_file())
    top_share = float(inter["item_id"].value_counts().head(max(1, shape.items // 100)).sum() / len(inter))
    stats = {
        "generate_s": gen_s,
        "fit_s": fit_s,
        "bundle_bytes": float(size),
        "interactions": float(len(inter)),
        "users": float(inter["user_id"].nunique()),
        "items": float(inter["item_id"].nunique()),
        "top1pct_share": top_share,
        "cached": 0.0,
    }
    stats_file.write_text(json.dumps(stats, indent=2))
    return folder / "bundle", stats


def describe(shape: Shape, stats: dict[str, float]) -> str:
    return (
        f"| {shape.key} | {stats['interactions']:,.0f} | {stats['users']:,.0f} | {stats['items']:,.0f} | "
        f"{stats['top1pct_share']:.0%} | {stats['generate_s']:.1f} | {stats['fit_s']:.1f} | "
        f"{stats['bundle_bytes'] / 1e6:,.0f} MB | {'cached' if stats.get('cached') else 'built now'} |"
    )


HEADER = (
    "| bundle | interactions | viewers | titles | top 1% titles' share | generate (s) | fit (s) | size | |\n"
    "|---|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--users", type=int)
    parser.add_argument("--items", type=int)
    parser.add_argument("--interactions", type=int)
    parser.add_argument("--seed", type=int)
    args = parser.parse_args()
    base = SCALES[args.scale]
    shape = Shape(
        users=args.users or base.users,
        items=args.items or base.items,
        interactions=args.interactions or base.interactions,
        seed=args.seed if args.seed is not None else base.seed,
    )
    path, stats = build(shape)
    print(HEADER)
    print(describe(shape, stats))
    print(f"\nbundle: {path}")


if __name__ == "__main__":
    main()
