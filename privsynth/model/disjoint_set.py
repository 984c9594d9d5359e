"""Union-find (disjoint sets) with path halving: the components of a growing forest.

Used by Kruskal's algorithm twice: the junction tree's maximum-weight spanning tree over cliques
and MST's private spanning tree over columns (an edge is a candidate only while its two ends lie
in different components).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

__all__ = ["DisjointSet"]


class DisjointSet:
    """Components of ``items``; every item starts alone."""

    def __init__(self, items: Iterable[Hashable]) -> None:
        self._parent = {x: x for x in items}

    def find(self, x: Hashable) -> Hashable:
        """The representative of ``x``'s component."""
        parent = self._parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: Hashable, b: Hashable) -> bool:
        """Join the components of ``a`` and ``b``; False when they were already one."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self._parent[ra] = rb
        return True

    def connected(self, a: Hashable, b: Hashable) -> bool:
        """Whether ``a`` and ``b`` lie in one component."""
        return self.find(a) == self.find(b)
