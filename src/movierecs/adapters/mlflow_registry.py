"""ModelRegistry on MLflow: runs with params/metrics/plots, versions of model ``movierecs``, aliases.

The bundle folder is logged as run artifacts (``bundle/``) and registered as a model version whose
source is that folder, so ``models:/movierecs@champion`` downloads exactly the bundle.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import warnings
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from movierecs.exceptions import RegistryError
from movierecs.ports import AliasMove, RegisteredVersion, TrainingData

log = logging.getLogger(__name__)
BUNDLE_ARTIFACT = "bundle"
HISTORY_TAG = "alias_history.{alias}"  # registered-model tag: JSON list of moves, newest last
HISTORY_KEEP = 30  # moves kept per alias (a tag value holds at most a few kB)


class MlflowRegistry:
    """:class:`~movierecs.ports.ModelRegistry` over MLflow's tracking and registry clients."""

    def __init__(
        self,
        tracking_uri: str,
        registry_uri: str,
        model_name: str,
        experiment: str = "movierecs",
        artifact_root: Path | None = None,
    ) -> None:
        import mlflow

        self._mlflow = mlflow
        self.tracking_uri, self.registry_uri = tracking_uri, registry_uri
        self.model_name, self.experiment = model_name, experiment
        self.artifact_root = artifact_root
        if tracking_uri.startswith("sqlite:///"):
            Path(tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri)

    def _experiment_id(self) -> str:
        exp = self.client.get_experiment_by_name(self.experiment)
        if exp is not None:
            return str(exp.experiment_id)
        location = None
        if self.artifact_root is not None and self.tracking_uri.startswith("sqlite:"):
            self.artifact_root.mkdir(parents=True, exist_ok=True)
            location = self.artifact_root.resolve().as_uri()
        return str(self.client.create_experiment(self.experiment, artifact_location=location))

    def log_training(
        self,
        bundle_dir: Path,
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        plots: Mapping[str, Path] | None = None,
        tags: Mapping[str, str] | None = None,
        register: bool = True,
        artifacts: Mapping[str, Path] | None = None,
        dataset: TrainingData | None = None,
    ) -> RegisteredVersion:
        """Log a run (params, metrics, plots, bundle, extra folders, the training data as a dataset input)
        and register the bundle as a new version."""
        try:
            run = self.client.create_run(self._experiment_id(), tags=dict(tags or {}))
            run_id = run.info.run_id
            from mlflow.entities import Metric, Param

            self.client.log_batch(
                run_id,
                metrics=[Metric(k, float(v), 0, 0) for k, v in metrics.items()],
                params=[Param(k, str(v)[:6000]) for k, v in params.items()],
            )
            if dataset is not None:
                self.client.log_inputs(run_id, datasets=[_dataset_input(dataset)])
            for path in (plots or {}).values():
                self.client.log_artifact(run_id, str(path), "plots")
            self.client.log_artifacts(run_id, str(bundle_dir), BUNDLE_ARTIFACT)
            for name, folder in (artifacts or {}).items():
                self.client.log_artifacts(run_id, str(folder), name)
            self.client.set_terminated(run_id)
            version = ""
            if register:
                version = self._register(
                    run_id, run.info.artifact_uri.rstrip("/") + "/" + BUNDLE_ARTIFACT, dict(tags or {})
                )
            return RegisteredVersion(version, run_id, dict(metrics), dict(tags or {}))
        except RegistryError:
            raise
        except Exception as exc:
            raise RegistryError(f"MLflow at {self.tracking_uri} failed: {exc}") from exc

    def _register(self, run_id: str, source: str, tags: dict[str, str]) -> str:
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(self.model_name)
        except MlflowException:
            self.client.create_registered_model(self.model_name, description="MovieRecs hybrid iALS")
        mv = self.client.create_model_version(self.model_name, source=source, run_id=run_id, tags=tags)
        return str(mv.version)

    def version_for_alias(self, alias: str) -> RegisteredVersion | None:
        from mlflow.exceptions import MlflowException

        try:
            mv = self.client.get_model_version_by_alias(self.model_name, alias)
        except MlflowException as exc:
            if "RESOURCE_DOES_NOT_EXIST" in str(exc.error_code) or "not found" in str(exc).lower():
                return None
            raise RegistryError(f"MLflow at {self.registry_uri}: {exc}") from exc
        return self.get_version(str(mv.version))

    def get_version(self, version: str) -> RegisteredVersion:
        try:
            mv = self.client.get_model_version(self.model_name, version)
            run = self.client.get_run(str(mv.run_id))
        except Exception as exc:
            raise RegistryError(f"version {version} of {self.model_name}: {exc}") from exc
        return RegisteredVersion(str(mv.version), str(mv.run_id), dict(run.data.metrics), dict(mv.tags))

    def latest_version(self) -> RegisteredVersion | None:
        try:
            versions = self.client.search_model_versions(f"name='{self.model_name}'")
        except Exception as exc:
            raise RegistryError(f"MLflow at {self.registry_uri}: {exc}") from exc
        if not versions:
            return None
        return self.get_version(str(max(int(v.version) for v in versions)))

    def set_alias(self, alias: str, version: str, reason: str = "") -> None:
        """Move ``alias`` to ``version`` and append the move (with ``reason``) to the alias history."""
        try:
            before = self.version_for_alias(alias)
            history = self.alias_history(alias)
            self.client.set_registered_model_alias(self.model_name, alias, version)
            move = AliasMove(alias, version, before.version if before else None, reason, _now())
            entries = [*(m.__dict__ for m in history[-(HISTORY_KEEP - 1) :]), move.__dict__]
            self.client.set_registered_model_tag(self.model_name, HISTORY_TAG.format(alias=alias), json.dumps(entries))
        except RegistryError:
            raise
        except Exception as exc:
            raise RegistryError(f"moving {self.model_name}@{alias} to {version}: {exc}") from exc

    def alias_history(self, alias: str) -> list[AliasMove]:
        """Every recorded move of ``alias``, oldest first (moves made outside MovieRecs are not in it)."""
        try:
            model = self.client.get_registered_model(self.model_name)
        except Exception:  # no registered model yet: no history
            return []
        raw = dict(model.tags or {}).get(HISTORY_TAG.format(alias=alias))
        return [AliasMove(**entry) for entry in json.loads(raw)] if raw else []

    def annotate(
        self, version: str, metrics: Mapping[str, float], tags: Mapping[str, str], files: Mapping[str, str | bytes]
    ) -> None:
        """Add metrics, tags (on the run and the version) and small files (text or bytes) to ``version``'s run."""
        from mlflow.entities import Metric, RunTag

        try:
            mv = self.client.get_model_version(self.model_name, version)
            run_id = str(mv.run_id)
            self.client.log_batch(
                run_id,
                metrics=[Metric(k, float(v), 0, 0) for k, v in metrics.items()],
                tags=[RunTag(k, str(v)[:5000]) for k, v in tags.items()],
            )
            for key, value in tags.items():
                self.client.set_model_version_tag(self.model_name, version, key, str(value)[:5000])
            for path, content in files.items():
                if isinstance(content, str):
                    self.client.log_text(run_id, content, path)
                    continue
                with tempfile.TemporaryDirectory() as tmp:
                    local = Path(tmp) / Path(path).name
                    local.write_bytes(content)
                    folder = str(Path(path).parent)
                    self.client.log_artifact(run_id, str(local), None if folder == "." else folder)
        except Exception as exc:
            raise RegistryError(f"annotating version {version} of {self.model_name}: {exc}") from exc

    def download(self, uri: str, dest: Path | None = None) -> tuple[Path, str | None]:
        """Download ``models:/name@alias`` / ``models:/name/N`` / ``runs:/...`` to a local folder.

        Returns the folder and the resolved model version (``None`` for non-registry URIs).
        """
        version = None
        if uri.startswith("models:/"):
            ref = uri.removeprefix("models:/")
            name, _, tail = ref.partition("@")
            if tail:
                found = self.client.get_model_version_by_alias(name, tail)
                version = str(found.version)
            else:
                name, _, version = ref.partition("/")
            mv = self.client.get_model_version(name, version)
            source = self.client.get_model_version_download_uri(name, mv.version)
        else:
            source = uri
        # MLflow draws a tqdm bar per download on stderr: it garbles JSON logs and the demo summary
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        target = dest or Path(tempfile.mkdtemp(prefix="movierecs-model-"))
        target.mkdir(parents=True, exist_ok=True)
        try:
            path = self._mlflow.artifacts.download_artifacts(
                artifact_uri=source, dst_path=str(target), tracking_uri=self.tracking_uri
            )
        except Exception as exc:
            raise RegistryError(f"cannot download {uri}: {exc}") from exc
        return Path(path), version


def _dataset_input(data: TrainingData) -> Any:
    """MLflow's dataset input (context ``training``): schema from the sample, our digest and profile.

    The entity is built by hand rather than with ``mlflow.data.from_pandas``: MLflow resolves only
    file and HTTP sources, not a store URL, and would profile the sample instead of the whole data.
    """
    from mlflow.data.pandas_dataset import from_pandas
    from mlflow.entities import Dataset, DatasetInput, InputTag

    local = "://" not in data.source
    with warnings.catch_warnings():  # MLflow's hints on integer columns and ambiguous sources: not ours
        warnings.simplefilter("ignore", UserWarning)
        schema = from_pandas(data.sample, name=data.name).schema
    source_type = "local" if local else data.source.partition("://")[0]
    entity = Dataset(
        name=data.name,
        digest=data.digest,
        source_type=source_type,
        source=json.dumps({"uri": data.source}),
        schema=json.dumps({"mlflow_colspec": schema.to_dict()}) if schema is not None else None,
        profile=json.dumps(dict(data.profile), default=str),
    )
    return DatasetInput(entity, tags=[InputTag("mlflow.data.context", "training")])


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()
