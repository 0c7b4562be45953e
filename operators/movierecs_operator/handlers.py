"""Thin kopf handlers: read the world, ask :mod:`.logic`, write the world, translate errors.

Handlers are registered by :func:`register` into an explicit registry (no import-time decorators),
so the entry point decides the timer tick from its config and tests run isolated operators.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import time
from typing import Any

import kopf

from movierecs_operator import GROUP, PLURAL, VERSION, kube, logic, metrics, mlflow_client, rollout
from movierecs_operator.config import OperatorConfig
from movierecs_operator.errors import AliasNotFoundError, InvalidSpecError, OperatorError, RegistryUnavailableError
from movierecs_operator.kube import Logger


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class _Runtime:
    """What the startup handler learns and the timer needs: kopf's settings, the metrics server."""

    def __init__(self) -> None:
        self.settings: Any = None
        self.metrics_server: Any = None


def build_settings(config: OperatorConfig) -> kopf.OperatorSettings:
    """kopf's settings for this operator (pass them to kopf.run/kopf.operator)."""
    settings = kopf.OperatorSettings()
    # Handler log lines stay logs (kopf would post every retry's failure as an Event during an
    # outage); Events are posted explicitly with kopf.event(), on readiness changes and rollouts.
    settings.posting.level = logging.CRITICAL
    # Without cluster scanning kopf needs no cluster-wide list/watch of namespaces and CRDs, so a
    # namespace-scoped Role is enough; the CRD is discovered once at startup (Helm installs it first).
    settings.scanning.disabled = not config.scan_cluster
    return settings


def register(registry: kopf.OperatorRegistry, config: OperatorConfig) -> None:
    """Register the operator's handlers into ``registry`` (kopf.run/operator(registry=...))."""
    runtime = _Runtime()

    @kopf.on.startup(registry=registry)
    def startup(settings: kopf.OperatorSettings, logger: Logger, **_: Any) -> None:
        runtime.settings = settings
        # kopf retries with backoff, so one registry request must fail fast, not retry for minutes.
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(int(config.registry_timeout_seconds)))
        if config.metrics_port:
            runtime.metrics_server = metrics.serve(config.metrics_port, config.metrics_host)
            logger.info(f"metrics on http://{config.metrics_host}:{config.metrics_port}/metrics")

    @kopf.on.cleanup(registry=registry)
    def cleanup(**_: Any) -> None:
        if runtime.metrics_server is not None:
            runtime.metrics_server.shutdown()
            runtime.metrics_server = None

    @kopf.timer(GROUP, VERSION, PLURAL, interval=config.tick_seconds, id="reconcile", registry=registry)
    async def reconcile(
        *,
        spec: kopf.Spec,
        status: kopf.Status,
        meta: kopf.Meta,
        body: kopf.Body,
        namespace: str | None,
        patch: kopf.Patch,
        logger: Logger,
        retry: int = 0,
        memo: Any,
        **_: Any,
    ) -> None:
        raw_spec = dict(spec)
        generation = meta.get("generation")
        fresh_spec = memo.get("seen_spec") != raw_spec
        if retry == 0 and not fresh_spec and time.monotonic() < memo.get("next_poll", 0.0):
            return  # polled recently: each object is polled every spec.pollSeconds, not every tick
        memo["seen_spec"] = raw_spec

        try:
            parsed = logic.parse_spec(raw_spec, config.default_poll_seconds)
        except InvalidSpecError as e:
            memo["next_poll"] = float("inf")  # until the spec changes
            _write_status(
                body,
                status,
                patch,
                logic.conditions_for_error(e.reason, str(e), registry_reachable=None),
                generation=generation,
            )
            metrics.FAILURES.labels(reason=e.reason).inc()
            raise kopf.PermanentError(f"invalid ModelDeployment spec: {e}") from e

        started = time.perf_counter()
        try:
            # namespace is None only for cluster-scoped resources; ModelDeployment is namespaced
            watching = await _reconcile(
                parsed, body, status, namespace or "", patch, logger, generation, runtime.settings
            )
        except OperatorError as e:
            metrics.FAILURES.labels(reason=e.reason).inc()
            reachable = not isinstance(e, RegistryUnavailableError)  # later steps ran: the registry answered
            _write_status(
                body,
                status,
                patch,
                logic.conditions_for_error(e.reason, str(e), registry_reachable=reachable),
                generation=generation,
            )
            if isinstance(e, AliasNotFoundError):  # a state, not a fault: look again at the next poll
                memo["next_poll"] = time.monotonic() + parsed.poll_seconds
                logger.info(str(e))
                return
            delay = min(config.backoff_seconds * 2**retry, config.max_backoff_seconds)
            raise kopf.TemporaryError(f"{e.reason}: {e}", delay=delay) from e
        except Exception:
            metrics.FAILURES.labels(reason="Unexpected").inc()
            raise  # kopf logs it and retries with its own backoff
        finally:
            metrics.RECONCILE_SECONDS.observe(time.perf_counter() - started)
        # a rollout under way is followed at every tick; otherwise poll every spec.pollSeconds
        memo["next_poll"] = 0.0 if watching else time.monotonic() + parsed.poll_seconds


async def _reconcile(
    spec: logic.Spec,
    body: kopf.Body,
    status: kopf.Status,
    namespace: str,
    patch: kopf.Patch,
    logger: Logger,
    generation: int | None,
    settings: Any,
) -> bool:
    """One level-based step (:func:`.rollout.plan`); True while a rollout is being watched."""
    version = await asyncio.to_thread(mlflow_client.alias_version, spec.registry_uri, spec.model_name, spec.alias)
    deployment = await kube.get_deployment(namespace, spec.target_deployment, settings=settings, logger=logger)
    now = datetime.datetime.now(datetime.UTC)
    step = rollout.plan(
        version, deployment, status, model_name=spec.model_name, now=now, deadline_seconds=spec.rollout_deadline_seconds
    )
    target = spec.target_deployment
    patched_generation = None
    if step.step in (rollout.Step.ROLLOUT, rollout.Step.ROLLBACK) and step.version is not None:
        ops = logic.build_deployment_patch(deployment, step.version, spec.model_name)
        if ops:
            answer = await kube.patch_deployment(namespace, target, ops, settings=settings, logger=logger)
            patched_generation = (answer or {}).get("metadata", {}).get("generation")
    if step.step is rollout.Step.ROLLOUT:
        metrics.ROLLOUTS.inc()
        was = f" (was {step.previous})" if step.previous else ""
        message = f"deployment/{target} patched to {spec.model_name} v{version}{was}"
        kopf.event(body, type="Normal", reason="RollingOut", message=message)
        logger.info(message)
    elif step.step is rollout.Step.COMPLETE:
        kopf.event(body, type="Normal", reason="RolledOut", message=f"deployment/{target} runs v{step.watched}")
    elif step.step is rollout.Step.ROLLBACK:
        metrics.ROLLOUT_FAILURES.inc()
        metrics.FAILURES.labels(reason=rollout.ROLLOUT_FAILED).inc()
        message = f"v{step.watched} did not roll out ({step.message}); back to v{step.previous or '-'}"
        kopf.event(body, type="Warning", reason=rollout.ROLLOUT_FAILED, message=message)
        logger.warning(message)
    if step.step in (rollout.Step.RECORD, rollout.Step.NOOP):
        kind = logic.Action.RECORD if step.step is rollout.Step.RECORD else logic.Action.NOOP
        conditions = logic.conditions_for_rollout(logic.Decision(kind, version, step.previous), target)
    else:
        conditions = rollout.conditions_for(step, target)
    _write_status(
        body,
        status,
        patch,
        conditions,
        generation=generation,
        fields=rollout.status_fields(step, _now(), patched_generation),
    )
    return step.step in (rollout.Step.ROLLOUT, rollout.Step.WAIT)


def _write_status(
    body: kopf.Body,
    status: kopf.Status,
    patch: kopf.Patch,
    conditions: list[logic.Condition],
    *,
    version: str | None = None,
    rolled_out: bool = False,
    generation: int | None = None,
    fields: dict[str, Any] | None = None,
) -> None:
    """Stage the status changes in kopf's patch (applied after the handler, even when it raises)
    and post an Event when readiness changes."""
    current = dict(status)
    new = logic.build_status(
        current, conditions, _now(), version=version, rolled_out=rolled_out, generation=generation, fields=fields
    )
    for key, value in logic.status_changes(current, new).items():
        patch.status[key] = value
    # One Event per change of readiness (its reason names the cause); rollouts post their own.
    for condition in logic.transitions(current, new):
        if condition["type"] != logic.READY:
            continue
        kind = "Normal" if condition["status"] == "True" else "Warning"
        kopf.event(body, type=kind, reason=condition["reason"], message=condition["message"])
