"""Recommenders behind one base class: popularity, iALS and their hybrid."""

from movierecs.models.base import Recommender
from movierecs.models.hybrid import HybridConfig, HybridRecommender
from movierecs.models.ials import IALSConfig, IALSRecommender
from movierecs.models.popular import PopularConfig, PopularRecommender
from movierecs.models.trainset import TrainingSet

MODELS: dict[str, type[Recommender]] = {
    "popular": PopularRecommender,
    "ials": IALSRecommender,
    "hybrid": HybridRecommender,
}

__all__ = [
    "MODELS",
    "HybridConfig",
    "HybridRecommender",
    "IALSConfig",
    "IALSRecommender",
    "PopularConfig",
    "PopularRecommender",
    "Recommender",
    "TrainingSet",
]
