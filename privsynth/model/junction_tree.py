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


def _bits(mask: int) -> list[int]:
    """The indices of the set bits of ``mask``, lowest first."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


def _fill(v: int, adj: list[int]) -> int:
    """Fill edges eliminating ``v`` adds: pairs of its neighbours not yet adjacent."""
    nbrs = adj[v]
    missing = sum((nbrs & ~adj[u] & ~(1 << u)).bit_count() for u in _bits(nbrs))
    return missing // 2


def _greedy_order(adj: list[int], sizes: list[int], criterion: str) -> tuple[list[int], list[int]]:
    """Greedy elimination over attribute indices (adjacency as bit masks); the order and the
    clique (a bit mask) formed when eliminating each node.

    Key per node: ``(cells of {v} + nbrs(v), v)`` for min-weight, ``(fill, cells, v)`` for
    min-fill, the index breaking ties (domain order). Only the nodes whose neighbourhood changed
    are re-keyed after each elimination (the neighbours of the eliminated node for the cells;
    those and their neighbours for the fill).
    """
    adj = list(adj)
    n = len(sizes)
    alive = (1 << n) - 1

    def key(v: int) -> tuple[int, ...]:
        cells = sizes[v]
        for u in _bits(adj[v]):
            cells *= sizes[u]
        return (_fill(v, adj), cells, v) if criterion == "min_fill" else (cells, v)

    keys = {v: key(v) for v in range(n)}
    order: list[int] = []
    cliques: list[int] = []
    while keys:
        v = min(keys.values())[-1]
        del keys[v]
        nbrs = adj[v]
        alive &= ~(1 << v)
        dirty = nbrs
        for u in _bits(nbrs):
            adj[u] = (adj[u] | nbrs) & ~(1 << u) & alive
        if criterion == "min_fill":
            for u in _bits(nbrs):
                dirty |= adj[u]
        for u in _bits(dirty & alive):
            keys[u] = key(u)
        order.append(v)
        cliques.append(nbrs | (1 << v))
    return order, cliques


def _maximal(cliques: list[int]) -> list[int]:
    """Drop cliques (bit masks) contained in another one (keeps first occurrence order)."""
    out: list[int] = []
    for i, c in enumerate(cliques):
        if any((c & d == c) and (c != d or j < i) for j, d in enumerate(cliques) if j != i):
            continue
        out.append(c)
    return out


def adjacency_masks(domain: Domain, cliques: Iterable[Clique]) -> list[int]:
    """The interaction graph of ``cliques`` as one bit mask of neighbours per attribute (in the
    domain's order): attributes that share a clique are adjacent."""
    index = {a: i for i, a in enumerate(domain.attrs)}
    adj = [0] * len(domain.shape)
    for c in cliques:
        mask = 0
        for a in c:
            mask |= 1 << index[a]
        for a in c:
            adj[index[a]] |= mask & ~(1 << index[a])
    return adj


def triangulate(domain: Domain, cliques: Iterable[Clique]) -> tuple[list[str], list[Clique]]:
    """The elimination order and maximal cliques (canonical order, reverse elimination order)
    of the triangulation with the fewest cells among min-weight and min-fill elimination."""
    sizes = list(domain.shape)
    adj = adjacency_masks(domain, cliques)
    best = None
    for criterion in ("min_weight", "min_fill"):
        order, elim = _greedy_order(adj, sizes, criterion)
        maximal = _maximal(elim)
        cells = sum(_cells(m, sizes) for m in maximal)
        if best is None or cells < best[0]:
            best = (cells, order, maximal)
    _, order, maximal = best
    attrs = domain.attrs
    return [attrs[i] for i in order], [tuple(attrs[i] for i in _bits(m)) for m in maximal[::-1]]


def _cells(mask: int, sizes: list[int]) -> int:
    cells = 1
    for i in _bits(mask):
        cells *= sizes[i]
    return cells


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
        order, maximal = triangulate(domain, self.cliques)
        self.elimination_order: list[str] = order
        # Reverse elimination order puts the "core" cliques first: a natural root for BP.
        self.maximal_cliques: list[tuple[str, ...]] = maximal
        idx_edges = _spanning_tree(self.maximal_cliques)
        self.edges: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
            (self.maximal_cliques[i], self.maximal_cliques[j]) for i, j in idx_edges
        ]
        self._rootings: dict[Clique, Rooting] = {}  # memo of rooting(), per root
        self._sets = {c: frozenset(c) for c in maximal}
        self._cells = {c: _clique_cells(domain, c) for c in maximal}

    # ----------------------------------------------------------------- size
    def size_cells(self) -> int:
        """Total number of cells over the maximal cliques (the model's parameter count)."""
        return int(sum(self._cells[c] for c in self.maximal_cliques))

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
            if want <= self._sets[c] and (best is None or self._cells[c] < self._cells[best]):
                best = c
        return best

    def __repr__(self) -> str:
        return f"JunctionTree({len(self.maximal_cliques)} cliques, {self.size_mb():.3f} MB)"


def _clique_cells(domain: Domain, clique: Clique) -> int:
    cells = 1
    for a in clique:
        cells *= domain.shape[domain.attrs.index(a)]
    return cells


def _components(adj: list[int]) -> list[int]:
    """The connected components of the graph (bit masks), in order of their lowest node."""
    seen, out = 0, []
    for v in range(len(adj)):
        if seen >> v & 1:
            continue
        comp, frontier = 1 << v, 1 << v
        while frontier:
            nxt = 0
            for u in _bits(frontier):
                nxt |= adj[u]
            frontier = nxt & ~comp
            comp |= frontier
        seen |= comp
        out.append(comp)
    return out


@lru_cache(maxsize=65536)
def _component_cells(sizes: tuple[int, ...], adj: tuple[int, ...]) -> tuple[int, int]:
    """Cells of the maximal cliques of one connected graph, per criterion (min-weight, min-fill)."""
    out = []
    for criterion in ("min_weight", "min_fill"):
        _, elim = _greedy_order(list(adj), list(sizes), criterion)
        out.append(sum(_cells(m, list(sizes)) for m in _maximal(elim)))
    return out[0], out[1]


def tree_cells(domain: Domain, cliques: Iterable[Clique]) -> int:
    """Cells of the junction tree :class:`JunctionTree` builds over ``cliques`` (without
    building it).

    Greedy elimination runs inside each connected component of the graph on its own (a node's
    key depends only on its component), so a criterion's cells are the sum over components, and
    each component's are memoised by its shape: a candidate clique changes only the component(s)
    it touches (AIM's size filter asks this once per candidate per round).
    """
    adj = adjacency_masks(domain, cliques)
    totals = [0, 0]
    for comp in _components(adj):
        nodes = _bits(comp)
        local = {v: i for i, v in enumerate(nodes)}
        sub = tuple(sum(1 << local[u] for u in _bits(adj[v])) for v in nodes)
        cells = _component_cells(tuple(domain.shape[v] for v in nodes), sub)
        totals[0] += cells[0]
        totals[1] += cells[1]
    return min(totals)


def model_size_mb(domain: Domain, cliques: Iterable[tuple[str, ...]]) -> float:
    """MiB of float64 potentials of the junction tree over ``cliques`` (AIM's model-size cap)."""
    return tree_cells(domain, cliques) * 8 / 2**20
