"""Optuna search over iALS and weighting on a validation split carved from the train part only."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from movierecs.data.container import RawData
from movierecs.domain.weighting import Weighting
from movierecs.evaluation.protocol import EvalProtocol, SplitData, make_split
from movierecs.evaluation.report import evaluate_models
from movierecs.models.hybrid import HybridConfig, HybridRecommender
from movierecs.models.ials import IALSConfig
from movierecs.models.popular import PopularConfig, PopularRecommender
from movierecs.models.trainset import TrainingSet

AUTO_GRID_MAX_INTERACTIONS = 2_000_000
AUTO_REGULARIZATION = (1.0, 3.0, 10.0, 30.0, 100.0)
AUTO_ALPHA = (0.25, 0.5, 1.0, 2.0)


def validation_score(split: SplitData, config: HybridConfig, protocol: EvalProtocol) -> float:
    """NDCG@k of ``config`` fitted on the split's train part, over all its test users."""
    train = split.training_set(config.weighting)
    model = HybridRecommender(config).fit(train)
    table = evaluate_models({"m": model}, train, split.test, protocol)
    return float(table[table["slice"] == "all"][f"ndcg@{protocol.k}"].iloc[0])


def validation_table(
    train_raw: RawData,
    candidates: Mapping[str, HybridConfig | PopularConfig],
    protocol: EvalProtocol,
    on_trial: Callable[[int, str], None] | None = None,
) -> pd.DataFrame:
    """Every candidate fitted and scored on a validation split carved from ``train_raw``.

    ``train_raw`` is the train part of the reported split; ``protocol``'s split is applied to it
    again, so the held-out validation interactions come before (per viewer, or globally) the reported
    test interactions, which this function never sees. A ``PopularConfig`` is the global or segment
    popularity list alone, fitted on binary weights and scored without profiles. One row per
    (candidate, slice) with ``evaluate_models``' columns.
    """
    split = make_split(train_raw, protocol)
    trains: dict[Weighting, TrainingSet] = {}
    tables = []
    for n, (name, config) in enumerate(candidates.items()):
        weighting = config.weighting if isinstance(config, HybridConfig) else Weighting()
        if weighting not in trains:
            trains[weighting] = split.training_set(weighting)
        train = trains[weighting]
        model = HybridRecommender(config) if isinstance(config, HybridConfig) else PopularRecommender(config)
        tables.append(evaluate_models({name: model.fit(train)}, train, split.test, protocol))
        if on_trial:
            on_trial(n, name)
    return pd.concat(tables, ignore_index=True)


def auto_tune(
    train_raw: RawData,
    base: HybridConfig,
    protocol: EvalProtocol,
    on_trial: Callable[[int, float], None] | None = None,
) -> tuple[HybridConfig, float]:
    """A small grid over iALS regularization x alpha on a validation split carved from ``train_raw``.

    Regularization and alpha are the hyper-parameters whose best values move most with the size and
    density of a dataset; this keeps ``movierecs train`` good on data it was not tuned on, for ~20
    fits (seconds on 100k interactions).
    """
    split = make_split(train_raw, protocol)
    best, best_value = base, -1.0
    for n, (reg, alpha) in enumerate((r, a) for r in AUTO_REGULARIZATION for a in AUTO_ALPHA):
        config = base.model_copy(update={"ials": base.ials.model_copy(update={"regularization": reg, "alpha": alpha})})
        value = validation_score(split, config, protocol)
        if on_trial:
            on_trial(n, value)
        if value > best_value:
            best, best_value = config, value
    return best, best_value


def tune(
    train_raw: RawData,
    base: HybridConfig,
    protocol: EvalProtocol,
    n_trials: int,
    seed: int = 42,
    on_trial: Callable[[int, float], None] | None = None,
) -> tuple[HybridConfig, float]:
    """Best config by NDCG@k on a validation split of ``train_raw`` (never the test part)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    split = make_split(train_raw, protocol)

    def objective(trial: optuna.Trial) -> float:
        ials = IALSConfig(
            factors=trial.suggest_categorical("factors", [32, 64, 128]),
            regularization=trial.suggest_float("regularization", 0.01, 100.0, log=True),
            alpha=trial.suggest_float("alpha", 0.1, 50.0, log=True),
            iterations=trial.suggest_int("iterations", 5, 30),
            seed=base.ials.seed,
            num_threads=base.ials.num_threads,
        )
        scheme = trial.suggest_categorical("weighting", ["binary", "rating", "centered", "positive"])
        weighting = Weighting.model_validate({"scheme": scheme})
        config = base.model_copy(update={"ials": ials, "weighting": weighting})
        value = validation_score(split, config, protocol)
        if on_trial:
            on_trial(trial.number, value)
        return value

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial(
        {
            "factors": base.ials.factors,
            "regularization": base.ials.regularization,
            "alpha": base.ials.alpha,
            "iterations": base.ials.iterations,
            "weighting": base.weighting.scheme,
        }
    )
    study.optimize(objective, n_trials=n_trials)
    p = study.best_params
    best = base.model_copy(
        update={
            "ials": base.ials.model_copy(
                update={k: p[k] for k in ("factors", "regularization", "alpha", "iterations")}
            ),
            "weighting": Weighting.model_validate({"scheme": p["weighting"]}),
        }
    )
    return best, float(study.best_value)
