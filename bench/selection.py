# ruff: noqa: E501  (markdown table rows are printed on one line each)
"""Model selection on ml-100k: every default chosen on validation, the choice then scored once on test.

    python bench/selection.py [--scale small|full] [--data-dir DIR] [--json PATH]

The reported splits are the ones `movierecs evaluate` prints in docs/BENCHMARKS.md: the per-user
temporal split (last 20% of each viewer's interactions) and the global time split (last 20% of all
interactions by time). Selection only ever sees their *train* part: the same split is applied to it
again (`movierecs.training.tune.validation_table`), and every candidate is fitted on the validation
train part and scored on the validation held-out part.

  (a) the iALS grid: factors x regularization x alpha x iterations x {binary, rating} weighting,
      NDCG@10 over all viewers of the per-user temporal validation split (full: 420 fits, about
      3-4 minutes on one core; small: 8 fits);
  (b) the four weighting schemes at the best iALS configuration of (a), on both validation splits;
  (c) the global popularity list (what a viewer with no history and no demographics is shown):
      all-time vs trending at several weights and half-lives, on the cold viewers of the global time
      validation split (the viewers that list serves) and, for reference, all viewers of the
      per-user temporal one.

Then the chosen configuration, the code's defaults and the defaults before this selection (#13)
are fitted on each reported train part and scored on its test part: the only numbers on test.
Markdown on stdout; nothing is asserted.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pandas as pd

from movierecs.data.loaders import load_dataset
from movierecs.domain.weighting import Weighting
from movierecs.evaluation.protocol import EvalProtocol, SplitData, make_split
from movierecs.evaluation.report import evaluate_models
from movierecs.models.hybrid import HybridConfig, HybridRecommender
from movierecs.models.ials import IALSConfig
from movierecs.models.popular import PopularConfig, PopularRecommender
from movierecs.training.tune import validation_table

ROOT = Path(__file__).resolve().parents[1]
GRIDS: dict[str, dict[str, tuple[Any, ...]]] = {
    "full": {
        "factors": (32, 64, 128),
        "regularization": (0.01, 0.1, 1.0, 3.0, 10.0, 30.0, 100.0),
        "alpha": (0.25, 1.0, 3.0, 10.0, 30.0),
        "iterations": (15, 30),
        "weighting": ("binary", "rating"),
        "trending_weight": (0.2, 0.5, 1.0),
        "half_life_days": (3.0, 7.0, 14.0, 30.0, 60.0),
    },
    "small": {
        "factors": (64,),
        "regularization": (1.0, 10.0),
        "alpha": (1.0, 3.0),
        "iterations": (15,),
        "weighting": ("binary", "rating"),
        "trending_weight": (0.2, 1.0),
        "half_life_days": (7.0, 14.0),
    },
}
# The defaults before this selection (#13): regularization 10, binary weighting and all-time
# popularity had been picked on the reported per-user temporal split itself.
PREVIOUS = HybridConfig(
    ials=IALSConfig(factors=64, regularization=10.0, alpha=1.0, iterations=15),
    weighting=Weighting(scheme="binary"),
    popular=PopularConfig(trending_weight=0.0, half_life_days=14.0),
)
UT = EvalProtocol(split="user_temporal")
GT = EvalProtocol(split="global_time")
NDCG, RECALL, COVERAGE = "ndcg@10", "recall@10", "coverage@10"
TOLERANCE = 0.001  # NDCG@10: closer than this to the best, the cheaper configuration is taken


def ials_name(c: HybridConfig) -> str:
    i = c.ials
    return f"f{i.factors} reg{i.regularization:g} a{i.alpha:g} it{i.iterations} {c.weighting.scheme}"


def popular_name(p: PopularConfig) -> str:
    if p.trending_weight == 0:
        return "all-time"
    return f"{p.trending_weight:.0%} trending, {p.half_life_days:g}-day half-life"


def score(table: pd.DataFrame, name: str, slice_name: str, metric: str = NDCG) -> float:
    row = table[(table["model"] == name) & (table["slice"] == slice_name)]
    return float(row[metric].iloc[0]) if len(row) else float("nan")


def grid(g: dict[str, tuple[Any, ...]]) -> dict[str, HybridConfig]:
    out = {}
    for f, r, a, it, w in itertools.product(
        g["factors"], g["regularization"], g["alpha"], g["iterations"], g["weighting"]
    ):
        c = HybridConfig(
            ials=IALSConfig(factors=f, regularization=r, alpha=a, iterations=it), weighting=Weighting(scheme=w)
        )
        out[ials_name(c)] = c
    return out


def cheapest_near_best(names: list[str], table: pd.DataFrame, configs: dict[str, HybridConfig]) -> str:
    """Fewest factors, then fewest iterations, among configurations within ``TOLERANCE`` of the best.

    Factors set the serving cost (a miss is a product over the item-factor matrix, issue #12), and
    differences under 0.001 NDCG@10 on ~940 viewers are within what a different seed moves.
    """
    top = score(table, best(names, table, "all"), "all")
    near = [n for n in names if score(table, n, "all") >= top - TOLERANCE]
    return min(near, key=lambda n: (configs[n].ials.factors, configs[n].ials.iterations, -score(table, n, "all")))


def best(names: list[str], table: pd.DataFrame, slice_name: str) -> str:
    """Highest NDCG@10 on ``slice_name``; ties go to the earlier candidate."""
    return max(names, key=lambda n: (score(table, n, slice_name), -names.index(n)))


def on_test(split: SplitData, models: dict[str, HybridConfig | PopularConfig], protocol: EvalProtocol) -> pd.DataFrame:
    """Fit on the reported train part, score on its test part (only for the final comparison)."""
    tables = []
    for name, config in models.items():
        weighting = config.weighting if isinstance(config, HybridConfig) else Weighting()
        train = split.training_set(weighting)
        model = HybridRecommender(config) if isinstance(config, HybridConfig) else PopularRecommender(config)
        tables.append(evaluate_models({name: model.fit(train)}, train, split.test, protocol))
    return pd.concat(tables, ignore_index=True)


def progress(label: str, total: int, tick: float):  # type: ignore[no-untyped-def]
    def report(n: int, name: str) -> None:
        if (n + 1) % 50 == 0 or n + 1 == total:
            print(f"{label}: {n + 1}/{total} fits, {time.perf_counter() - tick:.0f} s", file=sys.stderr, flush=True)

    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=("small", "full"), default="full")
    parser.add_argument(
        "--data-dir", default=os.environ.get("MOVIERECS_DATA_DIR") or str(ROOT.parent / "shared" / "data")
    )
    parser.add_argument("--json", help="write every validation and test row here")
    args = parser.parse_args()
    g = GRIDS[args.scale]
    raw = load_dataset("ml-100k", Path(args.data_dir))
    reported = {"user_temporal": make_split(raw, UT), "global_time": make_split(raw, GT)}
    start = time.perf_counter()
    out: dict[str, Any] = {"scale": args.scale, "grid": {k: list(v) for k, v in g.items()}}
    print(f"# Model selection on ml-100k (`python bench/selection.py --scale {args.scale}`)\n")
    print(
        "Validation = the reported split applied again to its own train part; test = the reported "
        "held-out part (used only in the last table). NDCG@10 unless named.\n"
    )

    # (a) iALS grid on the per-user temporal validation split
    cands = grid(g)
    names = list(cands)
    tick = time.perf_counter()
    ta = validation_table(reported["user_temporal"].train_raw, cands, UT, progress("grid", len(cands), tick))
    grid_s = time.perf_counter() - tick
    top = best(names, ta, "all")
    pick = cheapest_near_best(names, ta, cands)
    chosen_ials = cands[pick]
    dims = ("factors", "regularization", "alpha", "iterations", "weighting")
    print(
        f"## (a) iALS grid — validation (per-user temporal split of the train part)\n\n"
        f"{' × '.join(str(len(g[d])) for d in dims)} = **{len(cands)} fits** in {grid_s:.0f} s "
        f"(factors {list(g['factors'])}, regularization {list(g['regularization'])}, alpha {list(g['alpha'])}, "
        f"iterations {list(g['iterations'])}, weighting {list(g['weighting'])}).\n"
    )
    rows = sorted(names, key=lambda n: -score(ta, n, "all"))
    print("| rank | configuration | ndcg@10 (val) | recall@10 (val) | coverage@10 (val) |\n|---|---|---|---|---|")
    for rank, n in enumerate(rows[:10], 1):
        print(
            f"| {rank} | {n} | {score(ta, n, 'all'):.4f} | {score(ta, n, 'all', RECALL):.4f} | {score(ta, n, 'all', COVERAGE):.4f} |"
        )
    for label, config in (("code defaults", HybridConfig()), ("previous defaults", PREVIOUS)):
        n = ials_name(config)
        if n in cands:
            print(
                f"| {rows.index(n) + 1} | {n} ({label}) | {score(ta, n, 'all'):.4f} | {score(ta, n, 'all', RECALL):.4f} | {score(ta, n, 'all', COVERAGE):.4f} |"
            )
    print(
        f"\nBest: {top} ({score(ta, top, 'all'):.4f}). **Chosen: {pick}** ({score(ta, pick, 'all'):.4f}) — the fewest "
        f"factors, then iterations, within {TOLERANCE} NDCG@10 of the best (factors are the serving cost, #12)."
    )
    print("\nBest validation NDCG@10 at each value of one dimension (the others free):\n")
    print("| dimension | " + " | ".join(["value → best ndcg@10 (val)"]) + " |\n|---|---|")
    for d in dims:
        cells = []
        for v in g[d]:
            sub = [n for n in names if _value(cands[n], d) == v]
            cells.append(
                f"{v:g}: {max(score(ta, n, 'all') for n in sub):.4f}"
                if not isinstance(v, str)
                else f"{v}: {max(score(ta, n, 'all') for n in sub):.4f}"
            )
        print(f"| {d} | {', '.join(cells)} |")
    out["grid_validation"] = ta.to_dict("records")

    # (b) weighting schemes at the chosen iALS configuration, both validation splits
    schemes = ("binary", "rating", "centered", "positive")
    wc = {s: chosen_ials.model_copy(update={"weighting": Weighting(scheme=s)}) for s in schemes}
    tb_ut = validation_table(reported["user_temporal"].train_raw, wc, UT)
    tb_gt = validation_table(reported["global_time"].train_raw, wc, GT)
    chosen_scheme = best(list(schemes), tb_ut, "all")
    i = chosen_ials.ials
    print(
        f"\n## (b) Weighting schemes — validation, iALS f{i.factors} reg{i.regularization:g} a{i.alpha:g} it{i.iterations}\n"
    )
    print(
        "| scheme | per-user temporal val: ndcg@10 | recall@10 | coverage@10 | global time val: ndcg@10 (all) | ndcg@10 (warm+heavy) |\n|---|---|---|---|---|---|"
    )
    for s in schemes:
        known = _known(tb_gt, s)
        print(
            f"| {s}{' (chosen)' if s == chosen_scheme else ''} | {score(tb_ut, s, 'all'):.4f} | {score(tb_ut, s, 'all', RECALL):.4f} | "
            f"{score(tb_ut, s, 'all', COVERAGE):.4f} | {score(tb_gt, s, 'all'):.4f} | {known:.4f} |"
        )
    print(
        "\nChosen on the per-user temporal validation split (iALS serves viewers with history; the global time split's cold viewers get popularity whatever the scheme)."
    )
    out["weighting_validation"] = {"user_temporal": tb_ut.to_dict("records"), "global_time": tb_gt.to_dict("records")}

    # (c) all-time vs trending global popularity, no demographics
    pops = {
        popular_name(p): p
        for p in [PopularConfig(segments=False, trending_weight=0.0)]
        + [
            PopularConfig(segments=False, trending_weight=w, half_life_days=h)
            for w, h in itertools.product(g["trending_weight"], g["half_life_days"])
        ]
    }
    pnames = list(pops)
    tc_gt = validation_table(reported["global_time"].train_raw, pops, GT)
    tc_ut = validation_table(reported["user_temporal"].train_raw, pops, UT)
    chosen_pop = best(pnames, tc_gt, "cold")
    print("\n## (c) Global popularity list (viewers with no demographics) — validation\n")
    print(
        "| list | global time val, cold viewers: ndcg@10 | per-user temporal val, all viewers: ndcg@10 |\n|---|---|---|"
    )
    for n in pnames:
        print(
            f"| {n}{' (chosen)' if n == chosen_pop else ''} | {score(tc_gt, n, 'cold'):.4f} | {score(tc_ut, n, 'all'):.4f} |"
        )
    n_cold = int(tc_gt[(tc_gt["model"] == pnames[0]) & (tc_gt["slice"] == "cold")]["n_users"].iloc[0])
    print(
        f"\nChosen on the cold viewers of the global time validation split ({n_cold} viewers): the global list is what a viewer "
        "with no history and no demographics is shown, and such a viewer arrives after training."
    )
    out["trending_validation"] = {"global_time": tc_gt.to_dict("records"), "user_temporal": tc_ut.to_dict("records")}

    p = pops[chosen_pop]
    chosen = chosen_ials.model_copy(
        update={
            "weighting": Weighting(scheme=chosen_scheme),
            "popular": PopularConfig(trending_weight=p.trending_weight, half_life_days=p.half_life_days),
        }
    )
    configs = {"chosen on validation": chosen, "code defaults": HybridConfig(), "previous defaults": PREVIOUS}
    print("\n## Chosen configuration, then the reported test splits\n")
    for label, c in configs.items():
        print(f"- {label}: {_describe(c)}")
    same = _describe(chosen) == _describe(HybridConfig())
    print(f"\nThe code's defaults {'are' if same else 'are NOT'} the validation choice.\n")
    tut = on_test(reported["user_temporal"], dict(configs), UT)
    tgt = on_test(reported["global_time"], dict(configs), GT)
    nodemo = {
        label: PopularConfig(
            segments=False, trending_weight=c.popular.trending_weight, half_life_days=c.popular.half_life_days
        )
        for label, c in configs.items()
    }
    tpop = on_test(reported["global_time"], dict(nodemo), GT)
    print(
        "| configuration | per-user temporal **test**: hybrid ndcg@10 | recall@10 | global time **test**: hybrid ndcg@10 (all) | "
        "global list, no demographics: ndcg@10 (cold) |\n|---|---|---|---|---|"
    )
    for label in configs:
        print(
            f"| {label} | {score(tut, label, 'all'):.4f} | {score(tut, label, 'all', RECALL):.4f} | {score(tgt, label, 'all'):.4f} | {score(tpop, label, 'cold'):.4f} |"
        )
    out["test"] = {
        "user_temporal": tut.to_dict("records"),
        "global_time": tgt.to_dict("records"),
        "global_list": tpop.to_dict("records"),
    }
    out["chosen"] = chosen.model_dump()
    out["seconds"] = time.perf_counter() - start
    print(f"\n{out['seconds']:.0f} s in all; load average {os.getloadavg()[0]:.1f} at the end.")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))


def _value(c: HybridConfig, dim: str) -> Any:
    return c.weighting.scheme if dim == "weighting" else getattr(c.ials, dim)


def _known(table: pd.DataFrame, name: str) -> float:
    rows = table[(table["model"] == name) & table["slice"].isin(["warm", "heavy"])]
    n = rows["n_users"].sum()
    return float((rows[NDCG] * rows["n_users"]).sum() / n) if n else float("nan")


def _describe(c: HybridConfig) -> str:
    i, p = c.ials, c.popular
    return (
        f"factors {i.factors}, regularization {i.regularization:g}, alpha {i.alpha:g}, iterations {i.iterations}, "
        f"{c.weighting.scheme} weighting, global list {popular_name(p)}"
    )


if __name__ == "__main__":
    main()
