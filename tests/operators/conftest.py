"""Make the operator package importable (it lives in operators/, outside src/)."""

from __future__ import annotations

import sys
from pathlib import Path

OPERATORS_DIR = Path(__file__).resolve().parents[2] / "operators"
if str(OPERATORS_DIR) not in sys.path:
    sys.path.insert(0, str(OPERATORS_DIR))
