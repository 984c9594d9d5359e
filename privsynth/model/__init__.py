"""Graphical-model estimation: measurements, junction tree, calibration, fitting, sampling.

One concept per module: :mod:`~privsynth.model.measurements` (noisy marginals, record count,
simplex projection), :mod:`~privsynth.model.junction_tree` (triangulation, rootings and the
message schedule), :mod:`~privsynth.model.calibration` (belief propagation: the marginal oracle),
:mod:`~privsynth.model.potentials` (the estimator's potentials in group coordinates),
:mod:`~privsynth.model.graphical_model` (queries and sampling), :mod:`~privsynth.model.objective`
(the loss) and :mod:`~privsynth.model.estimation` (the :class:`Estimator` protocol and the hybrid
estimator). See docs/model.md.
"""

from privsynth.model.calibration import calibrate
from privsynth.model.estimation import Estimator, HybridEstimator, estimate
from privsynth.model.factor import Factor
from privsynth.model.graphical_model import GraphicalModel
from privsynth.model.junction_tree import JunctionTree, model_size_mb
from privsynth.model.measurements import Measurement, estimate_total, project_simplex

__all__ = [
    "Estimator",
    "Factor",
    "GraphicalModel",
    "HybridEstimator",
    "JunctionTree",
    "Measurement",
    "calibrate",
    "estimate",
    "estimate_total",
    "model_size_mb",
    "project_simplex",
]
