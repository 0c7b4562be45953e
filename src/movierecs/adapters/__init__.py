"""Adapters: one module per backend, chosen by URL scheme in :mod:`movierecs.composition`."""
