"""Junction tree over a set of cliques: triangulation by greedy elimination, then a clique tree.

The model's size (and the cost of belief propagation) is the number of cells of the maximal cliques
of the triangulated graph, so the elimination order is chosen to keep that small: several greedy
heuristics (min-weight by cells, min-fill) are run and the order giving the fewest cells wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from privsynth.domain import Domain
from privsynth.model.disjoint_set import DisjointSet

__all__ = ["JunctionTree", "MessagePlan", "Rooting", "model_size_mb"]

Clique = tuple[str, ...]


def _greedy_order(
    adj: dict[str, set[str]], sizes: dict[str, int], rank: dict[str, int], criterion: str
) -> tuple[list[str], list[frozenset[str]]]:
    """Greedy elimination; returns the order and the clique formed when eliminating each node."""
    adj = {v: set(n) for v, n in adj.items()}
    order: list[str] = []
    cliques: list[frozenset[str]] = []
    while adj:
        best_key, best = None, None
        for v, nbrs in adj.items():
            weight = sizes[v]
            for u in nbrs:
                weight *= sizes[u]
            if criterion == "min_fill":
                nb = list(nbrs)
                fill = sum(1 for i, a in enumerate(nb) for b in nb[i + 1 :] if b not in adj[a])
                key = (fill, weight, rank[v])
            else:
                key = (weight, rank[v])
            if best_key is None or key < best_key:
                best_key, best = key, v
        v = best
        nbrs = adj.pop(v)
        for u in nbrs:
            adj[u].discard(v)
            adj[u] |= nbrs - {u}
        order.append(v)
        cliques.append(frozenset(nbrs | {v}))
    return order, cliques


def _maximal(cliques: list[frozenset[str]]) -> list[frozenset[str]]:
    """Drop cliques contained in another one (keeps first occurrence order)."""
    out: list[frozenset[str]] = []
    for i, c in enumerate(cliques):
        if any(c < d or (c == d and j < i) for j, d in enumerate(cliques) if j != i):
            continue
        out.append(c)
    return out


def _spanning_tree(cliques: list[tuple[str, ...]]) -> list[tuple[int, int]]:
    """Maximum-weight spanning tree (weight = shared attributes) by Kruskal; always connected."""
    k = len(cliques)
    sets = [set(c) for c in cliques]
    cand = sorted(
        ((-len(sets[i] & sets[j]), i, j) for i in range(k) for j in range(i + 1, k)),
    )
    components = DisjointSet(range(k))
    edges: list[tuple[int, int]] = []
    for _, i, j in cand:
        if components.union(i, j):
            edges.append((i, j))
            if len(edges) == k - 1:
                break
    return edges


@dataclass(frozen=True)
class Rooting:
    """The tree rooted at ``order[0]``: pre-order, parents, children and subtree attributes."""

    order: list[Clique]  # pre-order, root first
    parent: dict[Clique, Clique | None]
    children: dict[Clique, list[Clique]]  # in pre-order
    below: dict[Clique, frozenset[str]]  # attributes of the subtree under each clique


@dataclass(frozen=True)
class MessagePlan:
    """The message schedule of belief propagation from the default root (axes and shapes).

    For every non-root clique ``c`` with parent ``p`` and separator ``s``: the axes of ``c`` summed
    out on the way up (``up_axes``) and of ``p`` on the way down (``down_axes``), the message's
    broadcast shape in the parent (``in_parent``) and the separator's own shape (``sep_shape``).
    """

    rooting: Rooting
    sep: dict[Clique, Clique] = field(default_factory=dict)
    up_axes: dict[Clique, tuple[int, ...]] = field(default_factory=dict)
    down_axes: dict[Clique, tuple[int, ...]] = field(default_factory=dict)
    in_parent: dict[Clique, tuple[int, ...]] = field(default_factory=dict)
    sep_shape: dict[Clique, tuple[int, ...]] = field(default_factory=dict)


class JunctionTree:
    """Clique tree of the triangulated graph of ``cliques`` (every domain attribute is covered)."""

    def __init__(self, domain: Domain, cliques: Iterable[tuple[str, ...]]) -> None:
        self.domain = domain
        cliques = [tuple(c) for c in cliques]
        for c in cliques:
            missing = [a for a in c if a not in domain]
            if missing:
                raise KeyError(f"JunctionTree: attributes {missing} not in domain")
        self.cliques = [domain.canonical(c) for c in cliques]
        sizes = domain.to_dict()
        rank = {a: i for i, a in enumerate(domain.attrs)}
        adj: dict[str, set[str]] = {a: set() for a in domain.attrs}
        for c in self.cliques:
            for a in c:
                adj[a] |= set(c) - {a}

        best = None
        for criterion in ("min_weight", "min_fill"):
            order, elim_cliques = _greedy_order(adj, sizes, rank, criterion)
            maximal = _maximal(elim_cliques)
            cells = sum(domain.size(m) for m in maximal)
            if best is None or cells < best[0]:
                best = (cells, order, maximal)
        _, order, maximal = best
        self.elimination_order: list[str] = order
        # Reverse elimination order puts the "core" cliques first: a natural root for BP.
        self.maximal_cliques: list[tuple[str, ...]] = [domain.canonical(m) for m in maximal[::-1]]
        idx_edges = _spanning_tree(self.maximal_cliques)
        self.edges: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
            (self.maximal_cliques[i], self.maximal_cliques[j]) for i, j in idx_edges
        ]
        self._rootings: dict[Clique, Rooting] = {}  # memo of rooting(), per root

    # ----------------------------------------------------------------- size
    def size_cells(self) -> int:
        """Total number of cells over the maximal cliques (the model's parameter count)."""
        return int(sum(self.domain.size(c) for c in self.maximal_cliques))

    def size_mb(self) -> float:
        """Memory of the float64 potentials, in MiB."""
        return self.size_cells() * 8 / 2**20

    # ----------------------------------------------------------------- structure helpers
    def neighbors(self) -> dict[tuple[str, ...], list[tuple[str, ...]]]:
        """Adjacency list of the clique tree."""
        nb: dict[tuple[str, ...], list[tuple[str, ...]]] = {c: [] for c in self.maximal_cliques}
        for a, b in self.edges:
            nb[a].append(b)
            nb[b].append(a)
        return nb

    def separator(self, a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
        """Shared attributes of two cliques, in domain order."""
        return self.domain.canonical(set(a) & set(b))

    def rooting(self, root: Clique | None = None) -> Rooting:
        """The tree rooted at ``root`` (default: the first maximal clique), memoised per root."""
        root = self.maximal_cliques[0] if root is None else root
        got = self._rootings.get(root)
        if got is None:
            got = self._rooting(root)
            self._rootings[root] = got
        return got

    def _rooting(self, root: Clique) -> Rooting:
        nb = self.neighbors()
        order = [root]
        parent: dict[Clique, Clique | None] = {root: None}
        i = 0
        while i < len(order):
            c = order[i]
            i += 1
            for d in nb[c]:
                if d not in parent:
                    parent[d] = c
                    order.append(d)
        children: dict[Clique, list[Clique]] = {c: [] for c in order}
        below: dict[Clique, set[str]] = {c: set(c) for c in order}
        for c in order:
            if parent[c] is not None:
                children[parent[c]].append(c)
        for c in reversed(order):
            if parent[c] is not None:
                below[parent[c]] |= below[c]
        frozen = {c: frozenset(v) for c, v in below.items()}
        return Rooting(order=order, parent=parent, children=children, below=frozen)

    @cached_property
    def plan(self) -> MessagePlan:
        """The belief-propagation schedule from the default root (built once per tree)."""
        dom = self.domain
        rooting = self.rooting()
        plan = MessagePlan(rooting=rooting)
        for c in rooting.order:
            p = rooting.parent[c]
            if p is None:
                continue
            s = self.separator(c, p)
            plan.sep[c] = s
            plan.up_axes[c] = tuple(i for i, a in enumerate(c) if a not in s)
            plan.down_axes[c] = tuple(i for i, a in enumerate(p) if a not in s)
            plan.in_parent[c] = tuple(dom[a] if a in s else 1 for a in p)
            plan.sep_shape[c] = tuple(dom[a] for a in s)
        return plan

    def containing(self, attrs: Iterable[str]) -> tuple[str, ...] | None:
        """The smallest maximal clique containing all of ``attrs``, or None."""
        want = set(attrs)
        best = None
        for c in self.maximal_cliques:
            if want <= set(c) and (best is None or self.domain.size(c) < self.domain.size(best)):
                best = c
        return best

    def __repr__(self) -> str:
        return f"JunctionTree({len(self.maximal_cliques)} cliques, {self.size_mb():.3f} MB)"


@lru_cache(maxsize=4096)
def _cached_size_mb(domain: Domain, cliques: tuple[tuple[str, ...], ...]) -> float:
    return JunctionTree(domain, cliques).size_mb()


def model_size_mb(domain: Domain, cliques: Iterable[tuple[str, ...]]) -> float:
    """MiB of float64 potentials of the junction tree over ``cliques`` (AIM's model-size cap)."""
    key = tuple(sorted({domain.canonical(c) for c in cliques}))
    return _cached_size_mb(domain, key)
