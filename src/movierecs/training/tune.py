"""Optuna search over iALS and weighting on a validation split carved from the train part only."""

from __future__ import annotations

from collections.abc import Callable

from movierecs.data.container import RawData
from movierecs.domain.weighting import Weighting
from movierecs.evaluation.protocol import EvalProtocol, make_split
from movierecs.evaluation.report import evaluate_models
from movierecs.models.hybrid import HybridConfig, HybridRecommender
from movierecs.models.ials import IALSConfig


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
        train = split.training_set(weighting)
        model = HybridRecommender(config).fit(train)
        table = evaluate_models({"m": model}, train, split.test, protocol)
        value = float(table[(table["slice"] == "all")][f"ndcg@{protocol.k}"].iloc[0])
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
