"""Datasets: MovieLens loaders, the generic interactions CSV and verified downloads."""

from movierecs.data.container import RawData
from movierecs.data.loaders import DATASETS, load_dataset, load_interactions_csv

__all__ = ["DATASETS", "RawData", "load_dataset", "load_interactions_csv"]
