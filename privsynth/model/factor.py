"""A dense table over a sub-domain: a clique's log-potential, indexed by attribute name.

A :class:`GraphicalModel <privsynth.model.GraphicalModel>` keeps one per maximal clique; the
estimator, the saved-model store and the samplers read its ``values`` directly (numpy arrays in
the domain's axis order) and use :meth:`Factor.aligned` to broadcast one table into a larger
clique by name, whatever the attribute order of each. Arithmetic is plain numpy on ``values``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from privsynth.domain import Domain

__all__ = ["Factor", "logsumexp_axes"]


def logsumexp_axes(values: np.ndarray, axes: Sequence[int]) -> np.ndarray:
    """Stable ``log(sum(exp(values)))`` over ``axes`` (per-slice max shift; -inf slices stay -inf)."""
    axes = tuple(axes)
    if not axes:
        return np.array(values, dtype=np.float64, copy=True)
    shift = np.max(values, axis=axes, keepdims=True)
    shift[~np.isfinite(shift)] = 0.0
    tmp = np.subtract(values, shift)
    np.exp(tmp, out=tmp)
    total = np.sum(tmp, axis=axes, keepdims=True)
    with np.errstate(divide="ignore"):
        np.log(total, out=total)
    total += shift
    return np.squeeze(total, axis=axes)


class Factor:
    """Dense array ``values`` (shape ``domain.shape``) indexed by the attributes of ``domain``."""

    __slots__ = ("domain", "values")

    def __init__(self, domain: Domain, values: np.ndarray | float) -> None:
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim == 0:
            arr = np.full(domain.shape, float(arr))
        elif arr.size != domain.size():
            raise ValueError(f"Factor: {arr.size} values for a domain of {domain.size()} cells")
        self.domain = domain
        self.values = arr.reshape(domain.shape)

    @classmethod
    def zeros(cls, domain: Domain) -> Factor:
        """All-zero factor (a uniform log-potential)."""
        return cls(domain, np.zeros(domain.shape))

    @property
    def attrs(self) -> tuple[str, ...]:
        return self.domain.attrs

    def aligned(self, target: Domain) -> np.ndarray:
        """Values transposed and reshaped (size-1 axes) so they broadcast against ``target``."""
        missing = [a for a in self.domain.attrs if a not in target]
        if missing:
            raise ValueError(f"Factor: attributes {missing} not in target domain")
        own = [a for a in target.attrs if a in self.domain]
        vals = (
            self.values.transpose(self.domain.axes(own)) if own != list(self.attrs) else self.values
        )
        shape = tuple(target[a] if a in self.domain else 1 for a in target.attrs)
        return vals.reshape(shape)

    def transpose(self, attrs: Sequence[str]) -> Factor:
        """Same table with axes reordered to ``attrs`` (a permutation of this factor's attrs)."""
        attrs = tuple(attrs)
        if set(attrs) != set(self.attrs) or len(attrs) != len(self.attrs):
            raise ValueError("Factor.transpose: attrs must be a permutation of the factor's attrs")
        return Factor(self.domain.project(attrs), self.values.transpose(self.domain.axes(attrs)))

    def __repr__(self) -> str:
        return f"Factor({self.domain.to_dict()})"
