"""Workloads of marginal queries and the candidate scoring shared by AIM, MWEM and MST.

A *workload* is a weighted set of cliques (tuples of attribute names, kept in domain order): the
marginals the synthetic data should preserve. AIM chooses what to measure among the workload's
*downward closure* (every non-empty subset of a workload clique) and weights each candidate ``r``
by its overlap with the workload, ``w_r = sum_s c_s * |r ∩ s|``.

Everything here is either public (workloads, domains, model sizes) or post-processing of noisy
measurements (model answers). The one private input, the exact marginals of the data, is read
through :func:`privsynth.marginals.marginal` and only ever reaches a release through
:func:`privsynth.privacy.mechanisms.select`, which charges the ledger.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from privsynth.domain import Domain
from privsynth.errors import InputError
from privsynth.marginals import marginal, marginals
from privsynth.model.junction_tree import model_size_mb

Clique = tuple[str, ...]
Workload = dict[Clique, float]

WORKLOAD_NAMES = ("all-1way", "all-2way", "all-3way")
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


# -- workloads ----------------------------------------------------------------------------------
def _canonical_clique(domain: Domain, clique: Any) -> Clique:
    if isinstance(clique, str):
        clique = (clique,)
    try:
        attrs = tuple(clique)
    except TypeError as exc:
        raise InputError(
            f"a workload clique must be a list of column names, got {clique!r}"
        ) from exc
    if not attrs:
        raise InputError("a workload clique must name at least one column")
    unknown = [a for a in attrs if not isinstance(a, str) or a not in domain]
    if unknown:
        raise InputError(f"workload clique {attrs!r} names unknown columns {unknown!r}")
    if len(set(attrs)) != len(attrs):
        raise InputError(f"workload clique {attrs!r} repeats a column")
    return domain.canonical(attrs)


def resolve_workload(
    domain: Domain,
    workload: str | Sequence[Any] | Mapping[Any, float] = "all-2way",
    target: str | None = None,
) -> Workload:
    """The weighted workload ``{clique: weight}`` described by ``workload`` and ``target``.

    ``workload`` is ``"all-1way"``, ``"all-2way"``, ``"all-3way"`` (every k-way marginal, weight
    1), a list of cliques (weight 1 each; a repeated clique adds its weights) or a mapping
    ``{clique: weight}``. With ``target`` (a column name), only the cliques that contain it are
    kept; for the named k-way workloads these are all k-way marginals containing the target.
    """
    if target is not None and (not isinstance(target, str) or target not in domain):
        raise InputError(f"target {target!r} is not a column of the data")
    out: Workload = {}
    if isinstance(workload, str):
        key = workload.lower().strip()
        if key not in WORKLOAD_NAMES:
            raise InputError(
                f"unknown workload {workload!r}; use one of {', '.join(WORKLOAD_NAMES)} "
                "or a list of column tuples"
            )
        k = int(key[4])
        if len(domain) < k:
            raise InputError(
                f"workload {key!r} needs at least {k} columns, the data has {len(domain)}"
            )
        for cl in itertools.combinations(domain.attrs, k):
            out[cl] = 1.0
    else:
        items: Iterable[tuple[Any, Any]]
        if isinstance(workload, Mapping):
            items = workload.items()
        else:
            try:
                items = [(cl, 1.0) for cl in workload]
            except TypeError as exc:
                raise InputError(
                    f"workload must be a name or a list of cliques, got {workload!r}"
                ) from exc
        for cl, w in items:
            canon = _canonical_clique(domain, cl)
            if (
                isinstance(w, bool)
                or not isinstance(w, int | float)
                or not math.isfinite(w)
                or w <= 0
            ):
                raise InputError(f"workload weight of {canon!r} must be a number > 0, got {w!r}")
            out[canon] = out.get(canon, 0.0) + float(w)
    if target is not None:
        out = {cl: w for cl, w in out.items() if target in cl}
    if not out:
        raise InputError(
            "the workload is empty" + (f" (no clique contains {target!r})" if target else "")
        )
    return out


def downward_closure(cliques: Iterable[Clique]) -> list[Clique]:
    """Every non-empty subset of every clique (each subset once, smallest first, then in order)."""
    seen: dict[Clique, None] = {}
    for cl in cliques:
        for k in range(1, len(cl) + 1):
            for sub in itertools.combinations(cl, k):
                seen.setdefault(sub, None)
    return sorted(seen, key=len)


def candidate_weights(workload: Mapping[Clique, float]) -> dict[Clique, float]:
    """AIM's candidates: the workload's downward closure, ``r -> sum_s c_s * |r ∩ s|`` (all > 0)."""
    sets = [(set(s), c) for s, c in workload.items()]
    return {r: float(sum(c * len(set(r) & s) for s, c in sets)) for r in downward_closure(workload)}


# -- scoring ------------------------------------------------------------------------------------
def expected_noise_l1(sigma: float, cells: int) -> float:
    """Expected L1 norm of Gaussian noise of scale ``sigma`` on ``cells`` cells: sqrt(2/pi) sigma n."""
    return SQRT_2_OVER_PI * sigma * cells


class TrueAnswers:
    """Exact marginals of the private data, computed once per clique (the data does not change).

    These are private: they may only enter :func:`privsynth.privacy.mechanisms.select` as scores
    (with the right sensitivity) or :func:`measure_marginal`; never a release by themselves.
    """

    def __init__(self, codes: np.ndarray, domain: Domain) -> None:
        self._codes = codes
        self._domain = domain
        self._cache: dict[Clique, np.ndarray] = {}

    def prefetch(self, cliques: Sequence[Clique]) -> None:
        """Count every clique not cached yet in one batch (one pass for the SQL engines)."""
        todo = [c for c in dict.fromkeys(cliques) if c not in self._cache]
        if todo:
            for c, ans in marginals(self._codes, self._domain, todo).items():
                self._cache[c] = ans.astype(np.float64)

    def __getitem__(self, clique: Clique) -> np.ndarray:
        ans = self._cache.get(clique)
        if ans is None:
            ans = marginal(self._codes, self._domain, clique).astype(np.float64)
            self._cache[clique] = ans
        return ans


def l1_errors(truth: TrueAnswers, model: Any, cliques: Sequence[Clique]) -> np.ndarray:
    """``||M_r(D) - M_r(model)||_1`` per clique; ``model=None`` means an all-zero estimate."""
    truth.prefetch(cliques)
    out = np.empty(len(cliques))
    for i, cl in enumerate(cliques):
        x = truth[cl]
        if model is None:
            out[i] = float(np.abs(x).sum())
        else:
            out[i] = float(np.abs(x - np.ravel(model.project(cl))).sum())
    return out


def _edges(cliques: Iterable[Clique]) -> frozenset[frozenset[str]]:
    return frozenset(frozenset(e) for cl in cliques for e in itertools.combinations(cl, 2))


class SizeFilter:
    """Which candidates keep the model's junction tree within a size cap.

    The size is that of the real junction tree the estimator builds (``model_size_mb`` over the
    measured cliques plus the candidate). That tree depends only on the graph the cliques span, so
    a candidate adding no new edge leaves the size unchanged and sizes are cached per edge set.
    """

    def __init__(self, domain: Domain) -> None:
        self.domain = domain
        self._cache: dict[frozenset[frozenset[str]], float] = {}

    def size_mb(self, cliques: Sequence[Clique]) -> float:
        key = _edges(cliques)
        size = self._cache.get(key)
        if size is None:
            size = model_size_mb(self.domain, [*cliques, *((a,) for a in self.domain.attrs)])
            self._cache[key] = size
        return size

    def __call__(
        self, measured: Sequence[Clique], candidates: Iterable[Clique], limit_mb: float
    ) -> list[Clique]:
        """Candidates whose addition to ``measured`` keeps the model within ``limit_mb``.

        A candidate inside an already measured clique is always kept: it adds nothing.
        """
        measured = list(dict.fromkeys(measured))
        sets = [set(m) for m in measured]
        edges = _edges(measured)
        current = self.size_mb(measured)
        out = []
        for cl in candidates:
            s = set(cl)
            if any(s <= m for m in sets):
                out.append(cl)
                continue
            new = _edges([cl]) - edges
            size = current if not new else self.size_mb([*measured, cl])
            if size <= limit_mb:
                out.append(cl)
        return out


# -- parameter checks ---------------------------------------------------------------------------
FrozenWorkload = str | tuple[tuple[tuple[str, ...], float], ...]


def freeze_workload(workload: Any, target: Any) -> FrozenWorkload:
    """Validate a workload argument (name, clique list or {clique: weight}) and a target column,
    returning the workload as a name or a hashable tuple of ``(clique, weight)``."""
    if not isinstance(workload, str | Sequence | Mapping):
        raise InputError(f"workload must be a name or a list of cliques, got {workload!r}")
    if target is not None and not isinstance(target, str):
        raise InputError(f"target must be a column name, got {target!r}")
    if isinstance(workload, str):
        return workload
    items = workload.items() if isinstance(workload, Mapping) else [(c, 1.0) for c in workload]
    out: dict[tuple[str, ...], Any] = {}
    for c, w in items:
        try:
            clique = (c,) if isinstance(c, str) else tuple(c)
        except TypeError as exc:
            raise InputError(
                f"a workload clique must be a list of column names, got {c!r}"
            ) from exc
        out[clique] = out[clique] + w if clique in out else w
    return tuple(out.items())


def workload_param(workload: FrozenWorkload) -> Any:
    """A frozen workload as JSON for the manifest."""
    return workload if isinstance(workload, str) else [[list(c), w] for c, w in workload]


def resolve_frozen(
    domain: Domain, workload: FrozenWorkload, target: str | None
) -> dict[Clique, float]:
    """``resolve_workload`` for a workload made by ``freeze_workload``."""
    return resolve_workload(
        domain, workload if isinstance(workload, str) else dict(workload), target
    )


def check_positive(
    name: str, value: Any, *, integer: bool = False, allow_none: bool = False
) -> None:
    """Raise InputError unless ``value`` is a finite number > 0 (an integer when asked)."""
    if value is None and allow_none:
        return
    ok = not isinstance(value, bool) and isinstance(value, int | float | np.integer | np.floating)
    if ok and integer:
        ok = float(value) == int(value)
    if not ok or not math.isfinite(float(value)) or value <= 0:
        kind = "a positive integer" if integer else "a number > 0"
        raise InputError(f"{name} must be {kind}, got {value!r}")


def check_sample_method(value: Any) -> str:
    if value not in ("rounding", "sampling"):
        raise InputError(f"sample_method must be 'rounding' or 'sampling', got {value!r}")
    return value
