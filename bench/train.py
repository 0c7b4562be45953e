"""Training benchmark: our fit vs a bare implicit fit of the same data, 1M -> 20M interactions.

    python bench/train.py [--sizes 1,5,20] [--factors 64] [--iterations 15]

Synthetic implicit feedback with power-law item popularity (users ~ n/50, items ~ n/500, capped).
"bare implicit" = build the user x item CSR with scipy + AlternatingLeastSquares.fit;
"iALS model" = IALSRecommender.fit (id maps, history matrix, rectools Dataset + wrapper);
"hybrid" = HybridRecommender.fit (iALS + popularity lists + segment tables + item metadata).
Prints a markdown table; nothing is asserted.
"""

from __future__ import annotations

import argparse
import gc
import time

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from movierecs.data.container import empty_items, empty_users
from movierecs.models import HybridConfig, HybridRecommender, IALSConfig, IALSRecommender, TrainingSet


def synthetic(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_users, n_items = max(n // 50, 100), min(max(n // 500, 100), 60_000)
    draws = int(n * 1.8)  # duplicates (user, item) are dropped below
    users = rng.integers(1, n_users + 1, size=draws)
    items = np.minimum(rng.zipf(1.3, size=draws), n_items)  # heavy head, long tail
    items = (items * 7919 + rng.integers(0, 50, size=draws)) % n_items + 1
    frame = pd.DataFrame({"user_id": users, "item_id": items})
    frame = frame.drop_duplicates(["user_id", "item_id"]).head(n)
    frame["weight"] = np.float32(1.0)
    frame["datetime"] = pd.to_datetime(rng.integers(1_600_000_000, 1_700_000_000, size=len(frame)), unit="s")
    return frame.reset_index(drop=True)


def bare_fit(frame: pd.DataFrame, cfg: IALSConfig) -> float:
    from implicit.als import AlternatingLeastSquares

    start = time.perf_counter()
    u_codes, _ = pd.factorize(frame["user_id"])
    i_codes, _ = pd.factorize(frame["item_id"])
    csr = sp.csr_matrix((frame["weight"].to_numpy(), (u_codes, i_codes)))
    model = AlternatingLeastSquares(
        factors=cfg.factors,
        regularization=cfg.regularization,
        alpha=cfg.alpha,
        iterations=cfg.iterations,
        random_state=cfg.seed,
        num_threads=1,
    )
    model.fit(csr, show_progress=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,5,20", help="millions of interactions, comma-separated")
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=15)
    args = parser.parse_args()
    threadpool_limits(1, "blas")
    cfg = IALSConfig(factors=args.factors, iterations=args.iterations, num_threads=1)
    print(f"factors={cfg.factors} iterations={cfg.iterations} regularization={cfg.regularization} threads=1\n")
    print(
        "| interactions | users | items | bare implicit (s) | iALS model (s) | hybrid (s) | iALS/bare | hybrid/bare |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for size in (int(float(x) * 1_000_000) for x in args.sizes.split(",")):
        frame = synthetic(size)
        data = TrainingSet(frame, empty_items(), empty_users(), frame["datetime"].max())
        bare = bare_fit(frame, cfg)
        start = time.perf_counter()
        IALSRecommender(cfg).fit(data)
        ials = time.perf_counter() - start
        start = time.perf_counter()
        HybridRecommender(HybridConfig(ials=cfg)).fit(data)
        hybrid = time.perf_counter() - start
        print(
            f"| {len(frame):,} | {frame['user_id'].nunique():,} | {frame['item_id'].nunique():,} | {bare:.1f} | "
            f"{ials:.1f} | {hybrid:.1f} | {ials / bare:.2f} | {hybrid / bare:.2f} |",
            flush=True,
        )
        gc.collect()


if __name__ == "__main__":
    main()
