"""A discrete graphical model on a junction tree: log-space belief propagation, exact marginal
queries for any attribute subset, and vectorised synthetic-data generation.

The distribution is ``p(x) ∝ exp(sum_C theta_C(x_C))`` over the tree's maximal cliques ``C``,
scaled to ``total`` records. Calibration is one upward (collect) and one downward (distribute) pass
of log-space messages; each clique's table is exponentiated twice per calibration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from privsynth.domain import Domain
from privsynth.model.factor import Factor, logsumexp_axes
from privsynth.model.junction_tree import JunctionTree

__all__ = ["GraphicalModel", "calibrate"]

Clique = tuple[str, ...]


@dataclass
class _Plan:
    """Precomputed message-passing schedule of a junction tree (axes and broadcast shapes)."""

    order: list[Clique]  # pre-order, root first
    parent: dict[Clique, Clique | None]
    children: dict[Clique, list[Clique]] = field(default_factory=dict)
    sep: dict[Clique, Clique] = field(default_factory=dict)  # child -> separator with parent
    up_axes: dict[Clique, tuple[int, ...]] = field(default_factory=dict)  # child axes not in sep
    down_axes: dict[Clique, tuple[int, ...]] = field(default_factory=dict)  # parent axes not in sep
    in_parent: dict[Clique, tuple[int, ...]] = field(default_factory=dict)  # msg shape in parent
    in_child: dict[Clique, tuple[int, ...]] = field(default_factory=dict)  # msg shape in child


def _plan(tree: JunctionTree) -> _Plan:
    """Build (once per tree) the message schedule used by :func:`calibrate`."""
    cached = getattr(tree, "_plan_cache", None)
    if cached is not None:
        return cached
    dom = tree.domain
    order, parent = tree.rooted()
    plan = _Plan(order=order, parent=parent, children={c: [] for c in order})
    for c in order:
        p = parent[c]
        if p is None:
            continue
        plan.children[p].append(c)
        s = tree.separator(c, p)
        plan.sep[c] = s
        plan.up_axes[c] = tuple(i for i, a in enumerate(c) if a not in s)
        plan.down_axes[c] = tuple(i for i, a in enumerate(p) if a not in s)
        plan.in_parent[c] = tuple(dom[a] if a in s else 1 for a in p)
        plan.in_child[c] = tuple(dom[a] if a in s else 1 for a in c)
    tree._plan_cache = plan
    return plan


def calibrate(
    tree: JunctionTree, theta: dict[Clique, np.ndarray], total: float
) -> tuple[dict[Clique, np.ndarray], float]:
    """Log-space sum-product on the tree: clique marginals as counts (each sums to ``total``), log Z.

    ``theta`` maps every maximal clique to its log-potential array (canonical attribute order).
    """
    plan = _plan(tree)
    up: dict[Clique, np.ndarray] = {}
    fresh: dict[Clique, bool] = {}
    msg_up: dict[Clique, np.ndarray] = {}
    for c in reversed(plan.order):  # collect: leaves first
        b = theta[c]
        kids = plan.children[c]
        if kids:
            b = b + msg_up[kids[0]].reshape(plan.in_parent[kids[0]])
            for k in kids[1:]:
                b += msg_up[k].reshape(plan.in_parent[k])
        up[c] = b
        fresh[c] = bool(kids)
        if plan.parent[c] is not None:
            msg_up[c] = logsumexp_axes(b, plan.up_axes[c])

    counts: dict[Clique, np.ndarray] = {}
    msg_down: dict[Clique, np.ndarray] = {}
    log_z = 0.0
    for c in plan.order:  # distribute: root first
        if plan.parent[c] is None:
            full = up[c] if fresh[c] else up[c].copy()
        else:
            full = up[c] + msg_down.pop(c).reshape(plan.in_child[c])
        up[c] = None  # free memory early
        shift = float(full.max())
        full -= shift
        np.exp(full, out=full)
        mass = float(full.sum())
        if plan.parent[c] is None:
            log_z = float(np.log(mass) + shift)
        with np.errstate(divide="ignore"):
            for k in plan.children[c]:
                sep_mass = full.sum(axis=plan.down_axes[k])
                msg = np.log(sep_mass)
                msg += shift
                msg -= msg_up.pop(k)
                msg_down[k] = msg
        full *= total / mass
        counts[c] = full
    return counts, log_z


def _systematic_round(targets: np.ndarray, row_totals: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Round each row of non-negative ``targets`` to integers summing exactly to ``row_totals``.

    Floors every cell, then hands out the missing units by systematic sampling on the fractional
    parts with one uniform offset ``u`` per row: unbiased per cell and exact per row.
    """
    floors = np.floor(targets)
    extra = np.maximum(row_totals - floors.sum(axis=1), 0.0)
    cum = np.cumsum(targets - floors, axis=1)
    last = cum[:, -1]
    scale = np.divide(extra, last, out=np.zeros_like(last), where=last > 0)
    cum *= scale[:, None]
    cum[:, -1] = extra
    cut = np.floor(cum - u[:, None])
    prev = np.concatenate([np.full((cut.shape[0], 1), -1.0), cut[:, :-1]], axis=1)
    return (floors + (cut - prev)).astype(np.int64)


class GraphicalModel:
    """Junction-tree graphical model with log-potentials per maximal clique, scaled to ``total``."""

    def __init__(
        self,
        domain: Domain,
        tree: JunctionTree,
        potentials: dict[Clique, Factor] | None = None,
        total: float = 1.0,
    ) -> None:
        self.domain = domain
        self.tree = tree
        self.total = float(total)
        pots: dict[Clique, Factor] = {}
        for c in tree.maximal_cliques:
            if potentials is not None and c in potentials:
                f = potentials[c]
                pots[c] = f if f.attrs == c else f.transpose(c)
            else:
                pots[c] = Factor.zeros(domain.project(c))
        self.potentials = pots
        self._marginals: dict[Clique, np.ndarray] | None = None
        self._sub_marginals: dict[tuple[Clique, Clique], np.ndarray] = {}
        self.log_partition: float | None = None
        self.fit_info: dict = {}

    # ----------------------------------------------------------------- inference
    def _calibrated(self) -> dict[Clique, np.ndarray]:
        if self._marginals is None:
            theta = {c: f.values for c, f in self.potentials.items()}
            counts, log_z = calibrate(self.tree, theta, self.total)
            self._set_marginals(counts, log_z)
        return self._marginals

    def _set_marginals(self, counts: dict[Clique, np.ndarray], log_z: float) -> None:
        for arr in counts.values():
            arr.flags.writeable = False
        self._marginals = counts
        self._sub_marginals = {}
        self.log_partition = log_z

    def marginals(self) -> dict[Clique, np.ndarray]:
        """Calibrated maximal-clique marginals as counts (read-only arrays, canonical order)."""
        return dict(self._calibrated())

    def project(self, attrs: Sequence[str]) -> np.ndarray:
        """Exact counts over ``attrs`` (in the given order), even across cliques."""
        attrs = tuple(attrs)
        if len(set(attrs)) != len(attrs):
            raise ValueError("project: repeated attribute")
        shape = self.domain.project(attrs).shape
        if not attrs:
            return np.array(self.total)
        margs = self._calibrated()
        host = self.tree.containing(attrs)
        if host is not None:
            keep = [a for a in host if a in attrs]
            out = self._clique_marginal(host, tuple(keep))
            perm = [keep.index(a) for a in attrs]
            return np.ascontiguousarray(out.transpose(perm)).reshape(shape)
        return self._eliminate(attrs, margs).reshape(shape)

    def _clique_marginal(self, clique: Clique, keep: Clique) -> np.ndarray:
        """Calibrated marginal of ``clique`` summed down to ``keep`` (memoised per model)."""
        key = (clique, keep)
        out = self._sub_marginals.get(key)
        if out is None:
            axes = tuple(i for i, a in enumerate(clique) if a not in keep)
            out = self._calibrated()[clique].sum(axis=axes) if axes else self._calibrated()[clique]
            if out.size <= 1 << 20:
                self._sub_marginals[key] = out
        return out

    def _eliminate(self, attrs: Clique, margs: dict[Clique, np.ndarray]) -> np.ndarray:
        """Variable elimination on the smallest subtree covering ``attrs`` (calibrated marginals)."""
        target = set(attrs)
        tree = self.tree
        nb = {c: set(v) for c, v in tree.neighbors().items()}
        # prune leaves whose target attributes are all in their separator (they sum to one)
        changed = True
        while changed and len(nb) > 1:
            changed = False
            for c in list(nb):
                if len(nb[c]) == 1:
                    (other,) = nb[c]
                    if (set(c) & target) <= set(other):
                        nb[other].discard(c)
                        del nb[c]
                        changed = True
                elif not nb[c] and not (set(c) & target):
                    del nb[c]
                    changed = True
        # root the remaining subtree(s) and build factors: root marginal x conditionals
        uses: dict[str, int] = {}
        for c in nb:
            for a in c:
                uses[a] = uses.get(a, 0) + 1
        factors: list[tuple[Clique, np.ndarray]] = []
        seen: set[Clique] = set()
        for root in nb:
            if root in seen:
                continue
            stack: list[tuple[Clique, Clique | None]] = [(root, None)]
            while stack:
                c, par = stack.pop()
                seen.add(c)
                stack.extend((d, c) for d in nb[c] if d not in seen)
                keep = tuple(a for a in c if uses[a] > 1 or a in target)
                arr = self._clique_marginal(c, keep) / self.total
                if par is not None:
                    sep = tuple(a for a in keep if a in par)
                    if sep:
                        denom = arr.sum(
                            axis=tuple(i for i, a in enumerate(keep) if a not in sep),
                            keepdims=True,
                        )
                        arr = np.divide(arr, denom, out=np.zeros_like(arr), where=denom > 0)
                    else:
                        arr = arr / max(arr.sum(), 1e-300)
                factors.append((keep, arr))
        return self.total * _contract(factors, attrs, self.domain)

    # ----------------------------------------------------------------- sampling
    def sample(self, n: int, rng: np.random.Generator, method: str = "rounding") -> np.ndarray:
        """``n`` synthetic records (int codes, columns in domain order) drawn from the model.

        ``"sampling"`` draws each clique's new attributes from its conditional given the separator
        (ancestral sampling); ``"rounding"`` instead splits each separator group's records among the
        conditional's cells by systematic rounding, so synthetic marginals track the model closely.
        """
        if method not in ("rounding", "sampling"):
            raise ValueError("method must be 'rounding' or 'sampling'")
        n = int(n)
        margs = self._calibrated()
        dom = self.domain
        col = {a: i for i, a in enumerate(dom.attrs)}
        data = np.zeros((n, len(dom)), dtype=np.int64)
        done: set[str] = set()
        plan = _plan(self.tree)
        for c in plan.order:
            sep = tuple(a for a in c if a in done)
            new = tuple(a for a in c if a not in done)
            if not new:
                continue
            sep_shape = tuple(dom[a] for a in sep)
            new_shape = tuple(dom[a] for a in new)
            n_rows, n_new = int(np.prod(sep_shape, dtype=np.int64)), int(np.prod(new_shape))
            table = margs[c].transpose([c.index(a) for a in sep + new]).reshape(n_rows, n_new)
            mass = table.sum(axis=1, keepdims=True)
            cond = np.divide(table, mass, out=np.full_like(table, 1.0 / n_new), where=mass > 0)
            if sep:
                rows = np.ravel_multi_index(tuple(data[:, col[a]] for a in sep), sep_shape)
            else:
                rows = np.zeros(n, dtype=np.int64)
            if method == "sampling":
                cdf = np.cumsum(cond, axis=1)
                cdf /= cdf[:, -1:]
                cdf += np.arange(n_rows)[:, None]
                idx = np.searchsorted(cdf.ravel(), rows + rng.random(n), side="right")
                picked = np.clip(idx - rows * n_new, 0, n_new - 1)
            else:
                group = np.bincount(rows, minlength=n_rows).astype(np.float64)
                u = rng.uniform(1e-9, 1 - 1e-9, size=n_rows)
                cell_counts = _systematic_round(cond * group[:, None], group, u)
                perm = rng.permutation(n)
                order = perm[np.argsort(rows[perm], kind="stable")]
                codes = np.tile(np.arange(n_new), n_rows)
                picked = np.empty(n, dtype=np.int64)
                picked[order] = np.repeat(codes, cell_counts.ravel())
            unr = np.unravel_index(picked, new_shape)
            for a, v in zip(new, unr, strict=True):
                data[:, col[a]] = v
            done.update(new)
        return data

    def __repr__(self) -> str:
        return f"GraphicalModel({self.tree!r}, total={self.total:.1f})"


def _contract(factors: list[tuple[Clique, np.ndarray]], out: Clique, domain: Domain) -> np.ndarray:
    """Sum-product of ``factors`` down to ``out`` by greedy (min-cells) variable elimination."""
    factors = list(factors)
    target = set(out)
    elim = {a for attrs, _ in factors for a in attrs} - target
    while elim:
        best, best_cost = None, None
        for v in elim:
            scope = {a for attrs, _ in factors if v in attrs for a in attrs}
            cost = domain.size(scope)
            if best_cost is None or cost < best_cost or (cost == best_cost and v < best):
                best, best_cost = v, cost
        inv = [f for f in factors if best in f[0]]
        rest = [f for f in factors if best not in f[0]]
        scope = domain.canonical({a for attrs, _ in inv for a in attrs} - {best})
        factors = rest + [(scope, _einsum(inv, scope))]
        elim.discard(best)
    return _einsum(factors, out)


def _einsum(factors: list[tuple[Clique, np.ndarray]], out: Clique) -> np.ndarray:
    """Multiply factors (broadcast by attribute name) and sum down to ``out``."""
    names = sorted({a for attrs, _ in factors for a in attrs} | set(out))
    letters = {
        a: chr(ord("a") + i) if i < 26 else chr(ord("A") + i - 26) for i, a in enumerate(names)
    }
    if len(names) > 52:
        raise ValueError("too many attributes in one contraction")
    spec = ",".join("".join(letters[a] for a in attrs) for attrs, _ in factors)
    spec += "->" + "".join(letters[a] for a in out)
    return np.einsum(spec, *[arr for _, arr in factors], optimize=len(factors) > 2)
