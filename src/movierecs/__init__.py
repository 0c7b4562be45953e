"""MovieRecs: a Kubernetes-native movie recommender."""

__version__ = "0.1.0"
