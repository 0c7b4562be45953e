"""Entry point: ``python -m movierecs_operator`` (or the ``movierecs-operator`` console script).

Options mirror ``kopf run``'s: ``--standalone``, ``--namespace NS`` (repeatable, globs allowed),
``--all-namespaces``/``-A``, ``--liveness URL``, ``--verbose``, ``--debug``. Everything else comes from
``MOVIERECS_OPERATOR_*`` environment variables (:class:`~movierecs_operator.config.OperatorConfig`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import kopf

from movierecs_operator.config import OperatorConfig
from movierecs_operator.handlers import build_settings, register


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="movierecs-operator",
        description="Roll the model version a registry alias points to out to Deployments (kopf).",
    )
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", action="append", default=[], help="namespace(s) to serve")
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="serve the whole cluster")
    parser.add_argument("--standalone", action="store_true", help="no peering with other instances")
    parser.add_argument("--liveness", metavar="URL", default=None, help="e.g. http://0.0.0.0:8080/healthz")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args(argv)
    if not args.namespace and not args.all_namespaces:
        parser.error("one of --namespace NS or --all-namespaces is required")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    config = OperatorConfig()
    kopf.configure(verbose=args.verbose, debug=args.debug, log_format=kopf.LogFormat.JSON)
    registry = kopf.OperatorRegistry()
    register(registry, config)
    kopf.run(
        registry=registry,
        settings=build_settings(config),
        standalone=args.standalone,
        clusterwide=args.all_namespaces,
        namespaces=args.namespace,
        liveness_endpoint=args.liveness,
    )


if __name__ == "__main__":
    main()
