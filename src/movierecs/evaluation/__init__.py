"""Offline evaluation: temporal splits, rectools metrics per user slice, next to a baseline."""

from movierecs.evaluation.protocol import EvalProtocol, SplitData, make_split
from movierecs.evaluation.report import evaluate_models, format_table

__all__ = ["EvalProtocol", "SplitData", "evaluate_models", "format_table", "make_split"]
