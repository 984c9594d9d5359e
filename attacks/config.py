"""How an audit runs: one frozen, keyword-only :class:`AuditConfig` that every attack receives
with the prepared data (:class:`attacks.context.AuditData`).

The settings are grouped by who reads them:

* the whole audit: ``seed`` (subsampling, folds, tie-breaking; a seeded run is reproducible and
  is never a release), ``confidence`` (family-wise level of every interval), ``scaling`` of the
  numeric columns, ``n_jobs`` threads (-1: every usable CPU; results do not depend on it);
* :class:`NeighborSettings`: when a search is exact, IVF probes, and the query sample above
  ``max_query_rows`` records per table;
* :class:`attacks.knowledge.KnowledgeConfig`: which attacker-knowledge sets attribute inference,
  singling out and linkability try;
* one typed settings object per attack (``exact_match``, ``dcr``, ``membership_distance``,
  ``membership_density``, ``attribute``), each validated where it is built.

Invalid values raise :class:`attacks.errors.AuditInputError` naming the field and the accepted
range, so the CLI turns them into one line and exit code 2. Change one field with
:func:`dataclasses.replace` (``replace(cfg, n_jobs=1)``) or :meth:`AuditConfig.with_overrides`.

Privacy: nothing here changes what an attack measures about the data; ``confidence`` and the
per-attack sizes change only how wide the intervals are (fewer bootstrap resamples or targets
give wider, still valid, intervals).
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from attacks.errors import AuditInputError
from attacks.knowledge import KnowledgeConfig
from attacks.neighbors import DEFAULT_NPROBE, EXACT_MAX_ROWS
from attacks.qi_neighbors import DEFAULT_CANDIDATES

SCALINGS = ("range", "quantile")
# Above this many records per table, the distance-based attacks query a seeded uniform sample of
# this many records of that table (the bases of the searches stay complete); exact matches
# always hash every record. Intervals then reflect the sample size.
MAX_QUERY_ROWS = 50_000


def _need(ok: bool, where: str, what: str) -> None:
    if not ok:
        raise AuditInputError(f"{where}: {what}")


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _int(obj: Any, name: str, where: str, minimum: int) -> None:
    """Check ``obj.name`` is an integer >= ``minimum`` and store it as a plain int."""
    value = getattr(obj, name)
    ok = _is_int(value) and value >= minimum
    _need(ok, where, f"must be an integer >= {minimum} (got {value!r})")
    object.__setattr__(obj, name, int(value))


def _share(value: Any, where: str, *, low: float = 0.0, high: float = 1.0, open_: bool) -> None:
    num = isinstance(value, (int, float)) and not isinstance(value, bool)
    inside = num and (low < value < high if open_ else low <= value <= high)
    span = f"({low:g}, {high:g})" if open_ else f"[{low:g}, {high:g}]"
    _need(bool(inside), where, f"must be a number in {span} (got {value!r})")


@dataclass(frozen=True, kw_only=True)
class NeighborSettings:
    """Nearest-neighbour searches (:mod:`attacks.neighbors`): exact (flat) up to
    ``exact_max_rows`` base rows, else IVF with ``nprobe`` lists probed (recall measured);
    tables above ``max_query_rows`` records are queried through a seeded sample of that size
    (0: never sample)."""

    exact_max_rows: int = EXACT_MAX_ROWS
    nprobe: int = DEFAULT_NPROBE
    max_query_rows: int = MAX_QUERY_ROWS

    def __post_init__(self) -> None:
        _int(self, "exact_max_rows", "neighbors.exact_max_rows", 0)
        _int(self, "nprobe", "neighbors.nprobe", 1)
        _int(self, "max_query_rows", "neighbors.max_query_rows", 0)


@dataclass(frozen=True, kw_only=True)
class ExactMatchSettings:
    """``max_differ``: columns a near copy may differ in; ``min_identifying``: share of real
    records that must be unique on the kept columns for a leave-out pass to count."""

    max_differ: int = 1
    min_identifying: float = 0.99

    def __post_init__(self) -> None:
        _int(self, "max_differ", "exact_match.max_differ", 1)
        _share(self.min_identifying, "exact_match.min_identifying", open_=False)


@dataclass(frozen=True, kw_only=True)
class DCRSettings:
    """``tie_tol``: distances this close count as a tie; ``n_boot``: cluster-bootstrap
    resamples of the NNDR ratio."""

    tie_tol: float = 1e-9
    n_boot: int = 300

    def __post_init__(self) -> None:
        ok = isinstance(self.tie_tol, (int, float)) and self.tie_tol >= 0
        _need(ok, "dcr.tie_tol", f"must be a non-negative number (got {self.tie_tol!r})")
        _int(self, "n_boot", "dcr.n_boot", 0)


@dataclass(frozen=True, kw_only=True)
class MembershipSettings:
    """``k`` neighbours per search; ``n_boot`` bootstrap resamples of the refitted thresholds
    (0: the exact interval given the thresholds only) and, for the density score, of the AUC
    over members and holdout records in both roles (0: DeLong's interval alone). ``density_k`` and ``eps`` are read by the
    density-ratio score only (log-distance over the first ``density_k`` neighbours; ``eps``
    relative to the median reference distance)."""

    k: int = 5
    n_boot: int = 200
    density_k: int = 1
    eps: float = 0.1

    def __post_init__(self) -> None:
        _int(self, "k", "membership.k", 1)
        _int(self, "n_boot", "membership.n_boot", 0)
        _int(self, "density_k", "membership.density_k", 1)
        _need(self.density_k <= self.k, "membership.density_k", f"must be <= k ({self.k})")
        ok = isinstance(self.eps, (int, float)) and self.eps > 0
        _need(ok, "membership.eps", f"must be a positive number (got {self.eps!r})")


@dataclass(frozen=True, kw_only=True)
class AttributeSettings:
    """Attribute inference (:mod:`attacks.attribute`): relative numeric ``tolerance``, at most
    ``max_targets`` neighbour-guess targets per side, the decision tree's ``min_samples_leaf``,
    a seeded sample of ``max_synthetic_rows`` synthetic rows above that size, ``candidates``
    of the shared QI search, and the rare-class subgroup (classes under ``rare_share`` of the
    real records, gated where each side has ``min_rare_targets`` targets)."""

    tolerance: float = 0.05
    max_targets: int = 1_000
    min_samples_leaf: int = 5
    max_synthetic_rows: int = 100_000
    candidates: int = DEFAULT_CANDIDATES
    rare_share: float = 0.05
    min_rare_targets: int = 100

    def __post_init__(self) -> None:
        ok = isinstance(self.tolerance, (int, float)) and self.tolerance >= 0
        _need(ok, "attribute.tolerance", "must be a non-negative relative tolerance")
        _int(self, "max_targets", "attribute.max_targets", 1)
        _int(self, "min_samples_leaf", "attribute.min_samples_leaf", 1)
        _int(self, "max_synthetic_rows", "attribute.max_synthetic_rows", 0)
        _int(self, "candidates", "attribute.candidates", 1)
        _share(self.rare_share, "attribute.rare_share", open_=True)
        _int(self, "min_rare_targets", "attribute.min_rare_targets", 1)


@dataclass(frozen=True, kw_only=True)
class AuditConfig:
    """Every setting of an audit (see the module docstring). All defaults are the documented
    ones; ``AuditConfig()`` is what ``privsynth audit`` runs."""

    seed: int = 0
    confidence: float = 0.95
    scaling: str = "range"
    n_jobs: int | None = -1
    neighbors: NeighborSettings = field(default_factory=NeighborSettings)
    knowledge: KnowledgeConfig = field(default_factory=KnowledgeConfig)
    exact_match: ExactMatchSettings = field(default_factory=ExactMatchSettings)
    dcr: DCRSettings = field(default_factory=DCRSettings)
    membership_distance: MembershipSettings = field(default_factory=MembershipSettings)
    membership_density: MembershipSettings = field(default_factory=MembershipSettings)
    attribute: AttributeSettings = field(default_factory=AttributeSettings)

    def __post_init__(self) -> None:
        _int(self, "seed", "seed", 0)
        _share(self.confidence, "confidence", open_=True)
        _need(self.scaling in SCALINGS, "scaling", f"must be one of {SCALINGS}")
        jobs = self.n_jobs
        ok = jobs is None or (_is_int(jobs) and jobs != 0)
        _need(ok, "n_jobs", "must be a positive number of threads or negative (-1 = all)")
        if jobs is not None:
            object.__setattr__(self, "n_jobs", int(jobs))
        for f in fields(self):
            want = _TYPES.get(f.name)
            value = getattr(self, f.name)
            if want is not None and not isinstance(value, want):
                raise AuditInputError(f"{f.name}: expected {want.__name__}, got {value!r}")

    def with_overrides(self, **changes: Any) -> AuditConfig:
        """A copy with the fields in ``changes`` replaced, skipping those given as None (so a
        caller can pass optional shortcuts such as ``seed=None`` straight through)."""
        given = {k: v for k, v in changes.items() if v is not None}
        return replace(self, **given) if given else self

    def settings(self) -> dict[str, Any]:
        """The configuration as plain JSON-ready data (every field, nested)."""
        return asdict(self)


_TYPES: dict[str, type] = {
    "neighbors": NeighborSettings,
    "knowledge": KnowledgeConfig,
    "exact_match": ExactMatchSettings,
    "dcr": DCRSettings,
    "membership_distance": MembershipSettings,
    "membership_density": MembershipSettings,
    "attribute": AttributeSettings,
}
