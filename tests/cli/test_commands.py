"""train / recommend / evaluate / promote end to end on ml-100k, in a temporary MOVIERECS_HOME."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from movierecs.columns import Columns
from movierecs.data.loaders import load_dataset

Cli = Callable[..., Any]  # the ``cli`` fixture: run_main(*args) -> Result(code, out, err)

UNKNOWN = 999_999


def test_train_writes_a_bundle(bundle_dir: Path) -> None:
    assert (bundle_dir / "bundle.json").is_file()
    assert (bundle_dir / "model" / "state.npz").is_file()
    meta = json.loads((bundle_dir / "bundle.json").read_text())
    assert meta["dataset"] == "ml-100k"
    assert meta["n_users"] == 943
    assert meta["n_items"] == 1682
    assert meta["metrics"]["ndcg_at_10"] > meta["metrics"]["baseline.ndcg_at_10"]
    assert not (bundle_dir.parent / "home" / "mlflow.db").exists()  # --no-register: MLflow untouched


def test_recommend_batch_csv(cli: Cli, bundle_dir: Path, tmp_path: Path, ml100k_dir: Path) -> None:
    users_file = tmp_path / "users.txt"
    users_file.write_text(f"1\n2\n{UNKNOWN}\n")
    out = tmp_path / "reco.csv"
    result = cli("recommend", "--model", str(bundle_dir), "--users-file", str(users_file), "-k", "5",
                 "--output", str(out))  # fmt: skip
    assert result.code == 0, result.err
    reco = pd.read_csv(out)
    assert list(reco.columns) == ["user_id", "item_id", "rank", "score"]
    assert sorted(reco[Columns.User].unique().tolist()) == [1, 2, UNKNOWN]
    for _, part in reco.groupby(Columns.User):
        assert part[Columns.Rank].tolist() == [1, 2, 3, 4, 5]
        assert part[Columns.Score].is_monotonic_decreasing
    raw = load_dataset("ml-100k", ml100k_dir)
    # users not in training get the cold-start list: the most-rated titles
    most_rated = raw.interactions.groupby(Columns.Item).size().nlargest(5).index.tolist()
    assert reco[reco[Columns.User] == UNKNOWN][Columns.Item].tolist() == most_rated
    # known users get their own lists, without what they have already rated
    seen = raw.interactions[[Columns.User, Columns.Item]]
    assert reco.merge(seen, on=[Columns.User, Columns.Item]).empty
    lists = {u: part[Columns.Item].tolist() for u, part in reco.groupby(Columns.User)}
    assert lists[1] != lists[2]


def test_recommend_to_stdout_with_user_options(cli: Cli, bundle_dir: Path) -> None:
    result = cli("recommend", "--model", str(bundle_dir), "--user", "1", "--user", "3", "-k", "3")
    assert result.code == 0, result.err
    lines = result.out.strip().splitlines()
    assert lines[0] == "user_id,item_id,rank,score"
    assert len(lines) == 1 + 2 * 3


def test_recommend_errors_exit_2(cli: Cli, bundle_dir: Path, tmp_path: Path) -> None:
    missing = cli("recommend", "--model", str(tmp_path / "nope"), "--user", "1")
    assert missing.code == 2
    assert "error:" in missing.err
    bad_file = tmp_path / "users.txt"
    bad_file.write_text("1\nalice\n")
    bad = cli("recommend", "--model", str(bundle_dir), "--users-file", str(bad_file))
    assert bad.code == 2
    assert "integer user id" in bad.err
    assert cli("recommend", "--model", str(bundle_dir)).code == 2  # no users given


def test_train_unknown_dataset_exit_2(cli: Cli) -> None:
    result = cli("train", "--dataset", "ml-10k", "--no-register")
    assert result.code == 2
    assert "unknown dataset" in result.err


def test_evaluate_writes_json_per_model_and_slice(cli: Cli, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = cli("evaluate", "--dataset", "ml-100k", "--json", str(report))
    assert result.code == 0, result.err
    assert "user_temporal" in result.out
    data = json.loads(report.read_text())
    assert data["dataset"] == "ml-100k"
    assert data["protocol"]["split"] == "user_temporal"
    rows = pd.DataFrame(data["rows"])
    for model in ("hybrid", "popular"):
        assert {"all", "warm", "heavy"} <= set(rows[rows["model"] == model]["slice"])
    ndcg = rows.set_index(["model", "slice"])["ndcg@10"]
    assert ndcg[("hybrid", "warm")] > ndcg[("popular", "warm")]
    assert {"recall@10", "map@10", "precision@10", "novelty@10", "serendipity@10", "coverage@10"} <= set(rows)


def test_register_promote_and_refuse_a_worse_model(cli: Cli, tmp_path: Path) -> None:
    from movierecs.adapters.mlflow_registry import MlflowRegistry

    home = tmp_path / "home"
    assert cli("promote").code == 2  # nothing registered yet

    first = cli("train", "--dataset", "ml-100k")
    assert first.code == 0, first.err
    assert (home / "mlflow.db").is_file()
    promoted = cli("promote")
    assert promoted.code == 0, promoted.err
    assert "promoted version 1" in promoted.err

    worse = cli("train", "--dataset", "ml-100k", "--factors", "2", "--iterations", "1")
    assert worse.code == 0, worse.err
    refused = cli("promote")
    assert refused.code == 3, refused.err
    assert "refused" in refused.err
    assert "version 2" in refused.err

    registry = MlflowRegistry(f"sqlite:///{home / 'mlflow.db'}", f"sqlite:///{home / 'mlflow.db'}", "movierecs")
    champion = registry.version_for_alias("champion")
    assert champion is not None
    assert champion.version == "1"
    assert champion.metrics["ndcg_at_10"] > registry.get_version("2").metrics["ndcg_at_10"]

    # the champion can be served straight from the registry
    reco = cli("recommend", "--model", "models:/movierecs@champion", "--user", str(UNKNOWN), "-k", "3")
    assert reco.code == 0, reco.err
    assert len(reco.out.strip().splitlines()) == 4

    forced = cli("promote", "--version", "2", "--force")
    assert forced.code == 0, forced.err
    assert registry.version_for_alias("champion").version == "2"  # type: ignore[union-attr]


def test_usage_errors_exit_2(cli: Cli) -> None:
    assert cli("--help").code == 0
    assert cli("no-such-command").code == 2
    assert cli("recommend", "--model", "x", "-k", "0").code == 2


def test_train_and_recommend_from_a_generic_csv(cli: Cli, tmp_path: Path, ml100k_dir: Path) -> None:
    # the acceptance path: `train --interactions TRAIN.csv` then `recommend`; 300 users keep it quick
    raw = load_dataset("ml-100k", ml100k_dir).interactions
    part = raw[raw[Columns.User] <= 300]
    csv = tmp_path / "train.csv"
    pd.DataFrame(
        {
            "user_id": part[Columns.User],
            "item_id": part[Columns.Item],
            "timestamp": part[Columns.Datetime].dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "rating": part["value"],
        }
    ).to_csv(csv, index=False)
    bundle = tmp_path / "bundle"
    trained = cli("train", "--interactions", str(csv), "--output-dir", str(bundle), "--no-register")
    assert trained.code == 0, trained.err
    meta = json.loads((bundle / "bundle.json").read_text())
    assert meta["n_users"] == 300
    assert meta["dataset"] == "train.csv"
    users = tmp_path / "users.txt"
    users.write_text(f"user_id\n1\n{UNKNOWN}\n")
    out = tmp_path / "reco.csv"
    reco = cli("recommend", "--model", str(bundle), "--users-file", str(users), "-k", "10", "--output", str(out))
    assert reco.code == 0, reco.err
    frame = pd.read_csv(out)
    assert frame.groupby(Columns.User).size().to_dict() == {1: 10, UNKNOWN: 10}
    counts = part.groupby(Columns.Item).size()
    assert frame[frame[Columns.User] == UNKNOWN][Columns.Item].iloc[0] in counts[counts == counts.max()].index


def test_auto_tune_reports_its_pick_and_can_be_turned_off(ml100k_dir: Path, tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from movierecs.cli import app
    from movierecs.training.tune import AUTO_ALPHA, AUTO_REGULARIZATION

    monkeypatch.setenv("MOVIERECS_DATA_DIR", str(ml100k_dir))
    monkeypatch.setenv("MOVIERECS_HOME", str(tmp_path / "home"))
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    tuned = runner.invoke(app, ["train", "--dataset", "ml-100k", "--no-register", "--output-dir", str(tmp_path / "a")])
    assert tuned.exit_code == 0, tuned.output
    line = next(x for x in tuned.output.splitlines() if x.startswith("auto-tune:"))
    reg = float(line.split("regularization=")[1].split()[0])
    alpha = float(line.split("alpha=")[1].split()[0])
    assert reg in AUTO_REGULARIZATION
    assert alpha in AUTO_ALPHA
    config = json.loads((tmp_path / "a" / "model" / "model.json").read_text())["config"]["ials"]
    assert (config["regularization"], config["alpha"]) == (reg, alpha)
    plain = runner.invoke(
        app, ["train", "--dataset", "ml-100k", "--no-register", "--no-auto-tune", "--output-dir", str(tmp_path / "b")]
    )
    assert plain.exit_code == 0, plain.output
    assert "auto-tune:" not in plain.output


def test_the_dag_path_evaluates_registered_versions_and_the_gate_uses_it(cli: Cli, tmp_path: Path) -> None:
    """train -> evaluate --version -> promote, as the retrain DAG's pods run them (results as JSON files,
    the Airflow XComs): a bad candidate is refused with exit 3, a good one promoted, then rolled back."""
    from mlflow import MlflowClient

    from movierecs.adapters.mlflow_registry import MlflowRegistry

    db = f"sqlite:///{tmp_path / 'home' / 'mlflow.db'}"
    base = ["train", "--dataset", "ml-100k", "--no-auto-tune"]

    def step(*args: str, code: int = 0) -> dict[str, Any]:
        out = tmp_path / f"{args[0]}-{len(list(tmp_path.glob('*.json')))}.json"
        result = cli(*args, "--json", str(out))
        assert result.code == code, result.err
        return json.loads(out.read_text())

    trained = step(*base)
    assert trained["version"] == "1"
    assert trained["metrics"]["ndcg_at_10"] > trained["metrics"]["baseline.ndcg_at_10"]
    _check_the_analysts_view(MlflowClient(tracking_uri=db, registry_uri=db), trained["run_id"], tmp_path / "run1")
    first = step("evaluate", "--version", "1")
    assert (first["champion_version"], first["champion"]) == (None, None)
    assert first["window_start"] < first["window_end"]
    assert first["n_users"] > 100
    assert first["candidate"] > first["baseline"]
    promoted = step("promote", "--version", "1")
    assert (promoted["promoted"], promoted["version"], promoted["previous"]) == (True, "1", None)
    assert promoted["evaluation"] == first  # the logged evaluation is what the gate used

    assert step(*base, "--factors", "2", "--iterations", "1")["version"] == "2"
    bad = step("evaluate", "--version", "2")
    # both scored as registered, on the same window: v1's hold-out twin saw exactly what v2's did
    assert (bad["champion_version"], bad["champion_bundle"]) == ("1", "holdout")
    assert bad["window_start"] == first["window_start"]
    assert bad["champion"] == first["candidate"]  # the champion's twin, loaded (no refit), scores the same
    assert bad["candidate"] < bad["champion"] * 0.98
    refused = step("promote", "--version", "2", code=3)
    assert (refused["promoted"], refused["version"]) == (False, "2")
    assert "champion" in refused["reason"] or "baseline" in refused["reason"]
    assert refused["evaluation"] == bad

    assert step(*base)["version"] == "3"
    good = step("promote", "--version", "3")  # no logged evaluation: the gate scores both now
    assert good["promoted"] is True, good["reason"]
    assert good["evaluation"]["champion_version"] == "1"
    assert good["evaluation"]["candidate"] >= good["evaluation"]["champion"] * 0.98

    registry = MlflowRegistry(db, db, "movierecs")
    assert registry.version_for_alias("champion").version == "3"  # type: ignore[union-attr]
    client = MlflowClient(tracking_uri=db, registry_uri=db)
    for version, decision in (("2", "refused"), ("3", "promoted")):
        found = registry.get_version(version)
        assert found.tags["gate.decision"] == decision
        assert "gate.candidate.ndcg_at_10" in found.metrics
        (tmp_path / version).mkdir()
        local = client.download_artifacts(found.run_id, "gate/decision.json", str(tmp_path / version))
        logged = json.loads(Path(local).read_text())
        assert logged["promoted"] is (decision == "promoted")
        assert logged["evaluation"]["window_end"] == first["window_end"]
        gate = {f.path for f in client.list_artifacts(found.run_id, "gate")}
        assert {"gate/decision.md", "gate/evaluation.md", "gate/evaluation.csv", "gate/ndcg_by_slice.png"} <= gate
        readable = Path(client.download_artifacts(found.run_id, "gate/decision.md", str(tmp_path / version)))
        assert f"**{decision.upper()}**" in readable.read_text()
        assert first["window_end"] in readable.read_text()

    back = step("rollback", "--reason", "CTR dropped on the A/B dashboard")
    assert (back["version"], back["previous"]) == ("1", "3")
    assert registry.version_for_alias("champion").version == "1"  # type: ignore[union-attr]
    assert registry.get_version("3").tags["rollback.reason"] == "CTR dropped on the A/B dashboard"
    assert [(m.version, m.previous) for m in registry.alias_history("champion")] == [
        ("1", None),
        ("3", "1"),
        ("1", "3"),
    ]

    # a pod pinned by the operator serves exactly its version, wherever the alias points (now: 1)
    from fastapi.testclient import TestClient

    from movierecs.composition import build_api
    from movierecs.settings import Settings

    pinned = Settings(model_uri="models:/movierecs/3")
    with TestClient(build_api(pinned)) as api:
        assert api.get("/v1/model").json()["model_version"] == "3"
        assert api.get("/v1/recommendations/1").json()["model_version"] == "3"


def _check_the_analysts_view(client: Any, run_id: str, dest: Path) -> None:
    """A trained run's curves (true recall: never falls), evaluation table, slice chart and dataset input."""
    dest.mkdir()
    plots = {f.path for f in client.list_artifacts(run_id, "plots")}
    for stem in ("recall_at_k", "ndcg_at_k", "r_precision_at_k", "ndcg_by_slice", "popularity_bias"):
        assert {f"plots/{stem}.png", f"plots/{stem}.csv"} <= plots, stem
    recall = pd.read_csv(client.download_artifacts(run_id, "plots/recall_at_k.csv", str(dest)))
    assert list(recall.columns) == ["model", "k", "recall"]
    assert set(recall["model"]) == {"hybrid", "popular"}
    for model, part in recall.groupby("model"):
        assert part.sort_values("k")["recall"].is_monotonic_increasing, model
        assert part["k"].tolist() == list(range(1, 51))
    evaluation = {f.path for f in client.list_artifacts(run_id, "evaluation")}
    assert evaluation == {"evaluation/table.csv", "evaluation/table.md"}
    table = pd.read_csv(client.download_artifacts(run_id, "evaluation/table.csv", str(dest)))
    assert {"hybrid", "popular"} == set(table["model"])
    assert {"all", "warm", "heavy"} <= set(table["slice"])
    run = client.get_run(run_id)
    at10 = recall.set_index(["model", "k"])["recall"][("hybrid", 10)]
    assert abs(at10 - run.data.metrics["recall_at_10"]) < 1e-5  # the curve and the table agree at k=10
    (data,) = run.inputs.dataset_inputs
    assert data.dataset.digest == run.data.params["fingerprint"]
    assert data.dataset.name == "ml-100k"
    assert "ml-100k" in json.loads(data.dataset.source)["uri"]
    profile = json.loads(data.dataset.profile)
    assert profile["n_interactions"] == 100_000
    assert (profile["n_users"], profile["n_items"]) == (943, 1682)
    assert profile["watermark"] == run.data.params["watermark"]
    assert {t.key: t.value for t in data.tags}["mlflow.data.context"] == "training"
    found = client.search_runs([run.info.experiment_id], f"dataset.digest = '{data.dataset.digest}'")
    assert run_id in {r.info.run_id for r in found}


def test_a_future_dated_interaction_never_becomes_the_watermark(cli: Cli, tmp_path: Path, ml100k_dir: Path) -> None:
    """One row dated 2105 used to make the model's watermark 2105, after which every new like was
    dropped as "already trained on"; training now stops at "now"."""
    raw = load_dataset("ml-100k", ml100k_dir).interactions
    part = raw[raw[Columns.User] <= 200]
    rows = pd.DataFrame(
        {
            "user_id": part[Columns.User],
            "item_id": part[Columns.Item],
            "timestamp": part[Columns.Datetime].dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "rating": part["value"],
        }
    )
    future = pd.DataFrame({"user_id": [1], "item_id": [1], "timestamp": ["2105-06-01T00:00:00Z"], "rating": [5.0]})
    csv = tmp_path / "train.csv"
    pd.concat([rows, future]).to_csv(csv, index=False)
    bundle = tmp_path / "bundle"
    trained = cli("train", "--interactions", str(csv), "--output-dir", str(bundle), "--no-register", "--no-auto-tune")
    assert trained.code == 0, trained.err
    watermark = pd.Timestamp(json.loads((bundle / "bundle.json").read_text())["watermark"])
    assert watermark == part[Columns.Datetime].max()
    assert watermark < pd.Timestamp.now()
