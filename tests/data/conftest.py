"""The ml-100k extract, loaded once for the data tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from movierecs.data.container import RawData
from movierecs.data.loaders import load_dataset


@pytest.fixture(scope="session")
def ml100k(ml100k_dir: Path) -> RawData:
    return load_dataset("ml-100k", ml100k_dir)
