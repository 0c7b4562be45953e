"""A hybrid model trained on ml-100k once per session (about a second)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from movierecs.data.container import RawData
from movierecs.data.loaders import load_dataset
from movierecs.models.hybrid import HybridConfig, HybridRecommender
from movierecs.models.trainset import TrainingSet

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def raw100k(ml100k_dir: Path) -> RawData:
    return load_dataset("ml-100k", ml100k_dir)


@pytest.fixture(scope="session")
def trained(raw100k: RawData) -> HybridRecommender:
    config = HybridConfig()
    return HybridRecommender(config).fit(TrainingSet.from_raw(raw100k, config.weighting))
