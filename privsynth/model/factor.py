"""A dense table over a sub-domain (a potential or a marginal), with domain-aware arithmetic.

Binary operations broadcast over domains: both operands are expanded to the union of their
domains (attributes matched by name, not position), so a clique potential plus a separator message
"just works" whatever the attribute order of each operand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

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

    # ----------------------------------------------------------------- constructors
    @classmethod
    def zeros(cls, domain: Domain) -> Factor:
        """All-zero factor (a uniform log-potential)."""
        return cls(domain, np.zeros(domain.shape))

    @classmethod
    def ones(cls, domain: Domain) -> Factor:
        """All-one factor."""
        return cls(domain, np.ones(domain.shape))

    @classmethod
    def uniform(cls, domain: Domain) -> Factor:
        """Uniform probability table over ``domain`` (sums to 1)."""
        return cls(domain, np.full(domain.shape, 1.0 / domain.size()))

    @classmethod
    def random(cls, domain: Domain, rng: np.random.Generator, scale: float = 1.0) -> Factor:
        """Gaussian random values (handy for random log-potentials in tests)."""
        return cls(domain, scale * rng.standard_normal(domain.shape))

    # ----------------------------------------------------------------- reshaping
    @property
    def attrs(self) -> tuple[str, ...]:
        return self.domain.attrs

    def _aligned(self, target: Domain) -> np.ndarray:
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

    def expand(self, domain: Domain) -> Factor:
        """This factor broadcast onto a larger ``domain`` (constant along the new attributes)."""
        return Factor(domain, np.broadcast_to(self._aligned(domain), domain.shape).copy())

    def transpose(self, attrs: Sequence[str]) -> Factor:
        """Same table with axes reordered to ``attrs`` (a permutation of this factor's attrs)."""
        attrs = tuple(attrs)
        if set(attrs) != set(self.attrs) or len(attrs) != len(self.attrs):
            raise ValueError("Factor.transpose: attrs must be a permutation of the factor's attrs")
        return Factor(self.domain.project(attrs), self.values.transpose(self.domain.axes(attrs)))

    def sum(self, attrs: Iterable[str] | None = None) -> Factor | float:
        """Sum out ``attrs`` (all attributes when None, returning a float)."""
        if attrs is None:
            return float(self.values.sum())
        attrs = tuple(attrs)
        axes = self.domain.axes(attrs)
        return Factor(self.domain.marginalize(attrs), self.values.sum(axis=axes))

    def logsumexp(self, attrs: Iterable[str] | None = None) -> Factor | float:
        """Log-space sum out of ``attrs`` (all attributes when None, returning a float)."""
        if attrs is None:
            return float(logsumexp_axes(self.values, range(self.values.ndim)))
        attrs = tuple(attrs)
        axes = self.domain.axes(attrs)
        return Factor(self.domain.marginalize(attrs), logsumexp_axes(self.values, axes))

    def project(self, attrs: Sequence[str], log: bool = False) -> Factor:
        """Marginal over ``attrs`` in the given order (``log=True`` marginalises in log space)."""
        attrs = tuple(attrs)
        drop = [a for a in self.attrs if a not in attrs]
        out = self.logsumexp(drop) if log else self.sum(drop)
        return out.transpose(attrs)

    # ----------------------------------------------------------------- arithmetic
    def _binary(self, other: Factor | float, op: Callable) -> Factor:
        if isinstance(other, Factor):
            merged = self.domain.merge(other.domain)
            with np.errstate(divide="ignore", invalid="ignore"):
                vals = op(self._aligned(merged), other._aligned(merged))
            if vals.shape != merged.shape:
                vals = np.broadcast_to(vals, merged.shape).copy()
            return Factor(merged, vals)
        with np.errstate(divide="ignore", invalid="ignore"):
            return Factor(self.domain, op(self.values, other))

    def __add__(self, other: Factor | float) -> Factor:
        return self._binary(other, np.add)

    def __radd__(self, other: float) -> Factor:
        return self._binary(other, np.add)

    def __sub__(self, other: Factor | float) -> Factor:
        return self._binary(other, np.subtract)

    def __rsub__(self, other: float) -> Factor:
        return Factor(self.domain, other - self.values)

    def __mul__(self, other: Factor | float) -> Factor:
        return self._binary(other, np.multiply)

    def __rmul__(self, other: float) -> Factor:
        return self._binary(other, np.multiply)

    def __truediv__(self, other: Factor | float) -> Factor:
        """Division; 0/0 cells become 0 (a zero-probability conditional), as in marginal ratios."""
        out = self._binary(other, np.divide)
        out.values[np.isnan(out.values)] = 0.0
        return out

    def __rtruediv__(self, other: float) -> Factor:
        with np.errstate(divide="ignore"):
            return Factor(self.domain, other / self.values)

    def __neg__(self) -> Factor:
        return Factor(self.domain, -self.values)

    def exp(self) -> Factor:
        """Elementwise exp."""
        return Factor(self.domain, np.exp(self.values))

    def log(self) -> Factor:
        """Elementwise log (log 0 = -inf, no warning)."""
        with np.errstate(divide="ignore"):
            return Factor(self.domain, np.log(self.values))

    def copy(self) -> Factor:
        return Factor(self.domain, self.values.copy())

    def datavector(self, flatten: bool = True) -> np.ndarray:
        """The values, flattened in C order (or as the array)."""
        return self.values.ravel() if flatten else self.values

    def __repr__(self) -> str:
        return f"Factor({self.domain.to_dict()})"
