"""Graphical-model estimation: factors, junction tree, belief propagation, fitting, sampling."""

from privsynth.model.estimation import Measurement, estimate, estimate_total
from privsynth.model.factor import Factor
from privsynth.model.graphical_model import GraphicalModel
from privsynth.model.junction_tree import JunctionTree, model_size_mb

__all__ = [
    "Factor",
    "GraphicalModel",
    "JunctionTree",
    "Measurement",
    "estimate",
    "estimate_total",
    "model_size_mb",
]
