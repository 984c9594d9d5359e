"""A discrete graphical model on a junction tree: log-space belief propagation, exact marginal
queries for any attribute subset, and vectorised synthetic-data generation.

The distribution is ``p(x) ∝ exp(sum_C theta_C(x_C))`` over the tree's maximal cliques ``C``,
scaled to ``total`` records. Its clique marginals come from :func:`privsynth.model.calibration.
calibrate` (log-space belief propagation), computed once per set of potentials and kept on the
model with every marginal derived from them (memoised per model).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from privsynth.domain import Domain
from privsynth.model.calibration import calibrate
from privsynth.model.factor import Factor, one_blas_thread, sum_axes
from privsynth.model.junction_tree import JunctionTree

__all__ = ["GraphicalModel", "assign_cells", "sorted_at_random", "systematic_round"]

Clique = tuple[str, ...]


def systematic_round(targets: np.ndarray, row_totals: np.ndarray, u: np.ndarray) -> np.ndarray:
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


def assign_cells(
    rows: np.ndarray,
    cell_counts: np.ndarray,
    data: np.ndarray,
    others: Sequence[int],
    rng: np.random.Generator,
    *,
    stratify: bool = True,
) -> np.ndarray:
    """Give each record (in separator group ``rows``) a new cell, ``cell_counts[g, k]`` per group.

    ``rows[i]`` is record ``i``'s separator group, ``cell_counts`` (groups x new cells, integer)
    sums per group to the group's size, ``data`` holds the columns sampled so far and ``others``
    their indices to stratify on. Returns each record's new cell (``0..cells-1``); every group
    gets exactly its counts.

    Within a group the records are ordered by the columns already sampled outside the separator
    (``others``, lexicographically in a random column order, ties at random), and the group's
    cells are interleaved evenly along that order (unit ``j`` of cell ``k`` at ``(j + u) / c_k``),
    so every stretch of the order, e.g. each value of the first key, gets each new cell in
    proportion: the new columns' joint counts with earlier columns track the model's conditional
    independence instead of adding the noise of a random assignment.
    """
    n = rows.size
    n_rows, n_new = cell_counts.shape
    flat = cell_counts.ravel()
    unit_cell = np.repeat(np.arange(flat.size), flat)
    unit_code = unit_cell % n_new
    picked = np.empty(n, dtype=np.int64)
    if not stratify:
        perm = rng.permutation(n)
        order = perm[np.argsort(rows[perm], kind="stable")]
        picked[order] = unit_code
        return picked
    keys = [rows, *(data[:, j] for j in rng.permutation(others))]
    order = sorted_at_random(keys, [n_rows, *(int(k.max()) + 1 if n else 1 for k in keys[1:])], rng)
    start = np.concatenate([[0], np.cumsum(flat)[:-1]])
    j = np.arange(n) - start[unit_cell]
    frac = (j + rng.random(flat.size)[unit_cell]) / np.maximum(flat[unit_cell], 1)
    # group-major, position-minor (frac < 1): one float sort instead of a two-key lexsort
    unit_order = np.argsort((unit_cell // n_new) + frac)
    picked[order] = unit_code[unit_order]
    return picked


def sorted_at_random(
    keys: list[np.ndarray], sizes: list[int], rng: np.random.Generator
) -> np.ndarray:
    """The order sorting records by ``keys`` (the first one primary; ``keys[i] < sizes[i]``),
    ties in a random order.

    The keys are packed, most significant first, into as few int64 words as hold them (one, for
    every domain of privsynth's size so far); the records are randomly permuted and stably sorted
    by the words (``np.lexsort`` when there are several), so ties keep the random order.
    """
    words, word, span = [], np.zeros(keys[0].size, dtype=np.int64), 1
    for key, size in zip(keys, sizes, strict=True):
        if span * size >= 2**62:
            words.append(word)
            word, span = np.zeros(key.size, dtype=np.int64), 1
        word = word * size + key
        span *= size
    words.append(word)
    perm = rng.permutation(keys[0].size)
    if len(words) == 1:
        return perm[np.argsort(words[0][perm], kind="stable")]
    return perm[np.lexsort([w[perm] for w in words[::-1]])]


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
        self._projections: dict[Clique, np.ndarray] = {}
        self.log_partition: float | None = None
        self.fit_info: dict = {}

    # ----------------------------------------------------------------- inference
    def _calibrated(self) -> dict[Clique, np.ndarray]:
        if self._marginals is None:
            theta = {c: f.values for c, f in self.potentials.items()}
            counts, log_z = calibrate(self.tree, theta, self.total)
            self.adopt_calibration(counts, log_z)
        return self._marginals

    def adopt_calibration(self, counts: dict[Clique, np.ndarray], log_z: float) -> None:
        """Take ``calibrate(tree, potentials, total)``'s result (computed by the caller for these
        very potentials, as the estimator does) instead of calibrating again."""
        for arr in counts.values():
            arr.flags.writeable = False
        self._marginals = counts
        self._sub_marginals = {}
        self._projections = {}
        self.log_partition = log_z

    def marginals(self) -> dict[Clique, np.ndarray]:
        """Calibrated maximal-clique marginals as counts (read-only arrays, canonical order)."""
        return dict(self._calibrated())

    def project(self, attrs: Sequence[str]) -> np.ndarray:
        """Exact counts over ``attrs`` (in the given order), even across cliques."""
        attrs = tuple(attrs)
        if len(set(attrs)) != len(attrs):
            raise ValueError("project: repeated attribute")
        missing = [a for a in attrs if a not in self.domain]
        if missing:
            raise KeyError(f"project: attributes {missing} not in domain")
        if not attrs:
            return np.array(self.total)
        canon = self.domain.canonical(attrs)
        out = self._projections.get(canon)
        if out is None:
            out = self.project_many([canon])[canon]
        return self._reorder(canon, out, attrs)

    def project_many(self, cliques: Iterable[Sequence[str]]) -> dict[tuple[str, ...], np.ndarray]:
        """Exact counts of many attribute subsets at once: ``{tuple(clique): array}``.

        Work is shared between queries: a query inside one maximal clique sums that clique's
        (memoised) marginal; a query ``A + {b}`` with ``A`` inside one clique is answered by one
        outward pass from ``A``'s clique that carries ``P(A, separator)`` messages to every clique
        where one of its targets ``b`` first appears (one pass per ``A`` for all its targets);
        anything else falls back to variable elimination on the pruned tree. Results are cached
        on the model, so ``project()`` of an already-answered subset is a lookup.
        """
        queries = []
        for c in cliques:
            attrs = tuple(c)
            if len(set(attrs)) != len(attrs):
                raise ValueError("project_many: repeated attribute")
            missing = [a for a in attrs if a not in self.domain]
            if missing:
                raise KeyError(f"project_many: attributes {missing} not in domain")
            queries.append(attrs)
        with one_blas_thread():
            return self._project_many(queries)

    def _project_many(self, queries: list[Clique]) -> dict[tuple[str, ...], np.ndarray]:
        self._calibrated()
        cache = self._projections
        passes: dict[Clique, set[str]] = {}  # tag (inside one clique) -> target attributes
        pending: list[Clique] = []
        for attrs in queries:
            canon = self.domain.canonical(attrs)
            if canon in cache or not canon:
                continue
            host = self.tree.containing(canon)
            if host is not None:
                keep = tuple(a for a in host if a in canon)
                cache[canon] = self._clique_marginal(host, keep)
                continue
            tag = self._best_tag(canon)
            if tag is None:
                cache[canon] = self._eliminate(canon, self._marginals)
            else:
                passes.setdefault(tag, set()).add(next(a for a in canon if a not in tag))
                pending.append(canon)
        for tag, targets in passes.items():
            for b, arr in self._tagged_pass(tag, targets).items():
                cache[self.domain.canonical(tag + (b,))] = arr
        out: dict[tuple[str, ...], np.ndarray] = {}
        for attrs in queries:
            if not attrs:
                out[attrs] = np.array(self.total)
                continue
            canon = self.domain.canonical(attrs)
            out[attrs] = self._reorder(canon, cache[canon], attrs)
        return out

    def _reorder(self, canon: Clique, arr: np.ndarray, attrs: Clique) -> np.ndarray:
        """A fresh C-contiguous copy of the cached ``arr`` with axes in ``attrs`` order."""
        if canon == attrs:
            return arr.copy()
        return np.ascontiguousarray(arr.transpose([canon.index(a) for a in attrs]))

    def _best_tag(self, canon: Clique) -> Clique | None:
        """The cheapest ``canon`` minus one attribute that lies inside one maximal clique."""
        best, best_cost = None, None
        for b in canon:
            tag = tuple(a for a in canon if a != b)
            if not tag or self.tree.containing(tag) is None:
                continue
            cost = (self.domain.size(tag), self.domain.attrs.index(b))
            if best_cost is None or cost < best_cost:
                best, best_cost = tag, cost
        return best

    def _tagged_pass(self, tag: Clique, targets: set[str]) -> dict[str, np.ndarray]:
        """``P(tag + (b,))`` (canonical order) for every ``b`` in ``targets`` (not in tag's clique).

        The tree is rooted at the smallest clique holding ``tag``; the message into clique ``C``
        is the joint counts over ``tag ∪ S`` (``S`` the separator with its parent). Because ``tag``
        and ``C \\ S`` are independent given ``S``, the joint over ``tag ∪ T`` for ``T ⊆ C`` is
        ``sum_{S \\ (tag ∪ T)} msg / msg(S) * mu_C(S ∪ T)``, using memoised clique sub-marginals.
        """
        root = self.tree.containing(tag)
        rooting = self.tree.rooting(root)
        order, kids, below = rooting.order, rooting.children, rooting.below
        tag_set = set(tag)
        out: dict[str, np.ndarray] = {}
        # messages: clique -> (names, counts) over tag ∪ separator-with-parent
        msgs: dict[Clique, tuple[Clique, np.ndarray]] = {}

        def send(c: Clique, incoming: tuple[Clique, np.ndarray] | None, want: Clique):
            """Joint counts over ``tag ∪ want`` (``want ⊆ c``) given the message into ``c``."""
            if incoming is None:  # c is the root: tag ⊆ c
                keep = tuple(a for a in c if a in tag_set or a in want)
                return keep, self._clique_marginal(c, keep)
            names, arr = incoming
            sep = tuple(a for a in c if a in names)  # separator with the parent
            cond_axes = tuple(i for i, a in enumerate(names) if a not in sep)
            if cond_axes:
                denom = arr.sum(axis=cond_axes, keepdims=True)
                cond = np.divide(arr, denom, out=np.zeros_like(arr), where=denom > 0)
            else:
                cond = np.ones_like(arr)
            keep = tuple(a for a in c if a in sep or a in want)
            res = self.domain.canonical(tag_set | set(want))
            return res, _einsum([(names, cond), (keep, self._clique_marginal(c, keep))], res)

        for c in order:
            if c is not root and c not in msgs:
                continue
            incoming = msgs.pop(c, None)
            seen_above = set() if incoming is None else set(incoming[0])
            for b in c:
                if b in targets and b not in seen_above and b not in tag_set:
                    names, arr = send(c, incoming, (b,))
                    out[b] = arr
            cset = set(c)
            for k in kids[c]:
                sep = set(k) & cset
                if any(b not in cset for b in below[k] & targets):
                    want = tuple(a for a in c if a in sep)
                    msgs[k] = send(c, incoming, want)
        return out

    def _clique_marginal(self, clique: Clique, keep: Clique) -> np.ndarray:
        """Calibrated marginal of ``clique`` summed down to ``keep`` (memoised per model)."""
        key = (clique, keep)
        out = self._sub_marginals.get(key)
        if out is None:
            axes = tuple(i for i, a in enumerate(clique) if a not in keep)
            out = sum_axes(self._calibrated()[clique], axes)
            if out.size <= 1 << 20:
                self._sub_marginals[key] = out
        return out

    def _eliminate(self, attrs: Clique, margs: dict[Clique, np.ndarray]) -> np.ndarray:
        """Variable elimination on the smallest subtree covering ``attrs`` (calibrated marginals)."""
        target = set(attrs)
        tree = self.tree
        # neighbours as insertion-ordered sets: the factor order (and so the float result) must
        # not depend on string hashing, which changes from process to process
        nb = {c: dict.fromkeys(v) for c, v in tree.neighbors().items()}
        # prune leaves whose target attributes are all in their separator (they sum to one)
        changed = True
        while changed and len(nb) > 1:
            changed = False
            for c in list(nb):
                if len(nb[c]) == 1:
                    (other,) = nb[c]
                    if (set(c) & target) <= set(other):
                        nb[other].pop(c)
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
    def sample(
        self, n: int, rng: np.random.Generator, method: str = "rounding", *, stratify: bool = True
    ) -> np.ndarray:
        """``n`` synthetic records (int codes, columns in domain order) drawn from the model.

        ``"sampling"`` draws each clique's new attributes from its conditional given the separator
        (ancestral sampling); ``"rounding"`` instead splits each separator group's records among the
        conditional's cells by systematic rounding, so synthetic marginals track the model closely;
        ``stratify`` (rounding only) interleaves the cells along the columns already sampled
        (:func:`assign_cells`; False: a random assignment with the same counts).
        """
        if method not in ("rounding", "sampling"):
            raise ValueError("method must be 'rounding' or 'sampling'")
        n = int(n)
        margs = self._calibrated()
        dom = self.domain
        col = {a: i for i, a in enumerate(dom.attrs)}
        data = np.zeros((n, len(dom)), dtype=np.int64)
        done: set[str] = set()
        for c in self.tree.plan.rooting.order:
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
                cell_counts = systematic_round(cond * group[:, None], group, u)
                others = [col[a] for a in dom.attrs if a in done and a not in sep]
                picked = assign_cells(rows, cell_counts, data, others, rng, stratify=stratify)
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
    return np.einsum(spec, *[arr for _, arr in factors], optimize=True)
