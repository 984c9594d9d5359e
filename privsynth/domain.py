"""The public, finite domain of an encoded table: attribute names and their number of codes.

A ``Domain`` is public information (it comes from the schema, never from the private data). Every
marginal, factor and graphical model in privsynth is indexed by one. Attribute order matters: a
marginal over ``("a", "b")`` is a C-ordered array of shape ``(size(a), size(b))``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import reduce


@dataclass(frozen=True)
class Domain:
    """An ordered mapping from attribute name to its number of codes (codes are 0..k-1)."""

    attrs: tuple[str, ...]
    shape: tuple[int, ...]

    def __post_init__(self) -> None:
        attrs = tuple(self.attrs)
        shape = tuple(int(k) for k in self.shape)
        if len(attrs) != len(shape):
            raise ValueError("Domain: attrs and shape must have the same length")
        if len(set(attrs)) != len(attrs):
            raise ValueError("Domain: attribute names must be unique")
        if any(k < 1 for k in shape):
            raise ValueError("Domain: every attribute needs at least one code")
        object.__setattr__(self, "attrs", attrs)
        object.__setattr__(self, "shape", shape)

    @classmethod
    def from_dict(cls, sizes: Mapping[str, int]) -> Domain:
        return cls(tuple(sizes), tuple(int(v) for v in sizes.values()))

    def to_dict(self) -> dict[str, int]:
        return dict(zip(self.attrs, self.shape, strict=True))

    def project(self, attrs: Iterable[str]) -> Domain:
        """The sub-domain over ``attrs``, in the order given."""
        attrs = tuple(attrs)
        sizes = self.to_dict()
        missing = [a for a in attrs if a not in sizes]
        if missing:
            raise KeyError(f"attributes not in domain: {missing}")
        return Domain(attrs, tuple(sizes[a] for a in attrs))

    def canonical(self, attrs: Iterable[str]) -> tuple[str, ...]:
        """``attrs`` sorted into this domain's order."""
        wanted = set(attrs)
        return tuple(a for a in self.attrs if a in wanted)

    def axes(self, attrs: Iterable[str]) -> tuple[int, ...]:
        index = {a: i for i, a in enumerate(self.attrs)}
        return tuple(index[a] for a in attrs)

    def size(self, attrs: Iterable[str] | None = None) -> int:
        """Number of cells over ``attrs`` (all attributes by default)."""
        shape = self.shape if attrs is None else self.project(attrs).shape
        return int(reduce(lambda x, y: x * y, shape, 1))

    def __contains__(self, attr: object) -> bool:
        return attr in self.attrs

    def __getitem__(self, attr: str) -> int:
        return self.shape[self.attrs.index(attr)]

    def __iter__(self) -> Iterator[str]:
        return iter(self.attrs)

    def __len__(self) -> int:
        return len(self.attrs)
