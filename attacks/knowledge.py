"""Attacker knowledge: which columns of a target the attacker is assumed to know.

Attribute inference, singling out and linkability each run for several *knowledge sets* and the
worst one is gated (with a Bonferroni correction over all of them, so trying more sets cannot
manufacture a FAIL on leak-free data). The sets are:

``all``
    every other column (attribute inference) or every column (singling out): the strongest
    attacker, who knows everything about a target except the secret.
``declared``
    the quasi-identifiers declared in the schema (``"role": "quasi_identifier"``) or given on
    the command line (``--quasi-identifiers a,b,c``): the attacker the data owner expects, e.g.
    one holding a voter list with age, sex and ZIP code.
``subset-<i>``
    small column subsets chosen by a **fixed public rule** that never looks at the data values or
    at which columns leak: ``numpy.random.default_rng`` seeded with the SHA-256 of the sorted
    column names draws, for each size in ``subset_sizes`` (default 2, 3, 4), a uniformly random
    subset of that size. The same column names always give the same subsets, whatever the audit
    seed, so a release cannot be re-audited with another seed until a lucky set of subsets
    passes. Partial-knowledge attackers matter because extra columns can *hide* a leak: a
    synthetic row that copies a training record's demographics and income, with the other
    columns drawn afresh, is far from that record in the space of all columns.

Linkability needs two disjoint column subsets of the same target (two data sources to join):
the declared quasi-identifiers against the other columns, the two halves of the columns (public
rule, below) and random disjoint pairs drawn by the same public rule. Near-unique number columns
(more than ``NEAR_UNIQUE_VALUES`` distinct values among the real records, or more than half of
the records; e.g. Adult's survey weight ``fnlwgt``) are left out of every pair: exact agreement on them happens
only for verbatim copies, so a pair that contains one sees nothing but copies (on Adult every
pair contained fnlwgt, and a leak that joins a record's demographics with its work and income
but not its survey weight went unseen).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from attacks.errors import AuditInputError

DEFAULT_SUBSET_SIZES: tuple[int, ...] = (2, 3, 4)
DEFAULT_PAIR_SIZES: tuple[int, ...] = (2, 3)
# Linkability leaves out number columns with more distinct values than this (or than half the
# real records): measurements, not linkage fields.
NEAR_UNIQUE_VALUES = 1_000


@dataclass(frozen=True, kw_only=True)
class KnowledgeConfig:
    """Which knowledge sets the attacks try.

    ``subset_sizes``: one public-rule random subset per entry (empty: none). ``include_all``: the
    every-other-column attacker. ``pair_sizes``: one random disjoint pair (A, B) of that size each
    for linkability, besides the declared-QI and halves pairs.
    """

    subset_sizes: tuple[int, ...] = DEFAULT_SUBSET_SIZES
    include_all: bool = True
    pair_sizes: tuple[int, ...] = DEFAULT_PAIR_SIZES

    def __post_init__(self) -> None:
        for name in ("subset_sizes", "pair_sizes"):
            sizes = tuple(getattr(self, name))
            if any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
                raise AuditInputError(f"knowledge.{name}: sizes must be positive integers")
            object.__setattr__(self, name, sizes)


@dataclass(frozen=True, kw_only=True)
class KnowledgeSet:
    """A named set of columns the attacker knows."""

    name: str
    columns: tuple[str, ...]
    rule: str


@dataclass(frozen=True, kw_only=True)
class KnowledgePair:
    """Two disjoint column subsets of one target, held by two different sources."""

    name: str
    left: tuple[str, ...]
    right: tuple[str, ...]
    rule: str


def public_rng(columns: Sequence[str], purpose: str) -> np.random.Generator:
    """A generator seeded only by the column names and a purpose label (a public rule)."""
    text = "\x1f".join([purpose, *sorted(str(c) for c in columns)])
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def knowledge_sets(
    columns: Sequence[str],
    declared: Sequence[str] | None,
    config: KnowledgeConfig | None = None,
) -> list[KnowledgeSet]:
    """The knowledge sets for ``columns``: all, declared (if any) and public-rule subsets.

    Duplicates (a subset equal to the declared set, say) are dropped; the first name wins.
    """
    cfg = config or KnowledgeConfig()
    cols = [str(c) for c in columns]
    out: list[KnowledgeSet] = []
    if cfg.include_all:
        out.append(KnowledgeSet(name="all", columns=tuple(cols), rule="every column"))
    if declared:
        dec = tuple(c for c in cols if c in set(declared))
        out.append(KnowledgeSet(name="declared", columns=dec, rule="declared quasi-identifiers"))
    rng = public_rng(cols, "subsets")
    ordered = sorted(cols)  # draws index the sorted names: the column order does not matter
    for i, size in enumerate(cfg.subset_sizes, start=1):
        if size >= len(cols):
            continue
        pick = {ordered[j] for j in rng.choice(len(cols), size=size, replace=False)}
        out.append(
            KnowledgeSet(
                name=f"subset-{i}",
                columns=tuple(c for c in cols if c in pick),
                rule=f"public-rule random subset of size {size}",
            )
        )
    return _unique(out)


def plus_one_sets(
    columns: Sequence[str], declared: Sequence[str] | None, exclude: Sequence[str] = ()
) -> list[KnowledgeSet]:
    """The declared quasi-identifiers plus one other column, one set per column (``declared+c``),
    for singling out (:mod:`attacks.singling_out`): an attacker who holds a voter list often
    knows one more fact about a target (an occupation, an income band), and a synthetic row that
    reproduces a training record's quasi-identifiers together with that fact singles the record
    out on both. The near-unique columns in ``exclude`` (a survey weight) are never the extra
    one: agreement on them happens for verbatim copies only, which the copy checks count. None
    without declared quasi-identifiers, and none that would be every column (the ``all`` set)."""
    cols = [str(c) for c in columns]
    dec = [c for c in cols if declared and c in set(declared)]
    if not dec:
        return []
    skip = set(dec) | {str(c) for c in exclude}
    extra = [c for c in cols if c not in skip]
    out = []
    for c in extra:
        picked = set(dec) | {c}
        if len(picked) == len(cols):
            continue
        out.append(
            KnowledgeSet(
                name=f"declared+{c}",
                columns=tuple(x for x in cols if x in picked),
                rule="declared quasi-identifiers plus one other column",
            )
        )
    return out


def partial_copy_sets(columns: Sequence[str], n_sets: int, share: float) -> list[tuple[str, ...]]:
    """``n_sets`` public-rule random column subsets of size ceil(share x d) (at least 2, at most
    d - 1), for the partial-copy measure of :mod:`attacks.exact_match`. Same public rule as the
    knowledge sets: the draw depends only on the column names."""
    cols = [str(c) for c in columns]
    d = len(cols)
    if d < 3:
        return []
    size = min(max(int(np.ceil(share * d)), 2), d - 1)
    rng = public_rng(cols, "partial-copies")
    ordered = sorted(cols)
    out = []
    for _ in range(n_sets):
        pick = {ordered[j] for j in rng.choice(d, size=size, replace=False)}
        out.append(tuple(c for c in cols if c in pick))
    return out


def knowledge_pairs(
    columns: Sequence[str],
    declared: Sequence[str] | None,
    config: KnowledgeConfig | None = None,
    *,
    exclude: Sequence[str] = (),
) -> list[KnowledgePair]:
    """Disjoint (left, right) column pairs for linkability (see the module docstring); the
    columns in ``exclude`` (near-unique ones, :func:`near_unique_columns`) are in no pair, and
    the public rule draws from the other column names."""
    cfg = config or KnowledgeConfig()
    cols = [str(c) for c in columns if str(c) not in set(exclude)]
    out: list[KnowledgePair] = []
    if declared:
        left = tuple(c for c in cols if c in set(declared))
        right = tuple(c for c in cols if c not in set(declared))
        if left and right:
            out.append(
                KnowledgePair(
                    name="declared", left=left, right=right, rule="declared QIs vs the rest"
                )
            )
    rng = public_rng(cols, "pairs")
    ordered = sorted(cols)

    def take(idx: np.ndarray) -> tuple[str, ...]:
        names = {ordered[j] for j in idx}
        return tuple(c for c in cols if c in names)

    if len(cols) >= 2:
        perm = rng.permutation(len(cols))
        half = len(cols) // 2
        left, right = take(perm[:half]), take(perm[half:])
        out.append(
            KnowledgePair(name="halves", left=left, right=right, rule="public-rule random halves")
        )
    for i, size in enumerate(cfg.pair_sizes, start=1):
        if 2 * size > len(cols):
            continue
        pick = rng.choice(len(cols), size=2 * size, replace=False)
        out.append(
            KnowledgePair(
                name=f"pair-{i}",
                left=take(pick[:size]),
                right=take(pick[size:]),
                rule=f"public-rule random disjoint subsets of size {size}",
            )
        )
    return out


def near_unique_columns(values: dict[str, np.ndarray], types: dict[str, str]) -> list[str]:
    """Number and datetime columns with more distinct values among the real records than
    ``NEAR_UNIQUE_VALUES`` or than half of the records (``values``: each column's values over
    train + holdout). Exact agreement on such a measurement (a survey weight, a timestamp)
    happens for verbatim copies only, which the copy checks already count; as a linkage field it
    hides every partial leak that does not copy it. Categorical identifiers (a ZIP code) stay:
    they are what real sources are linked on. Decided on the real records only."""
    out = []
    for c, v in values.items():
        if types.get(c) == "categorical" or v.size == 0:
            continue
        k = np.unique(v[~np.isnan(v)]).size
        if k > min(NEAR_UNIQUE_VALUES, v.size / 2):
            out.append(c)
    return out


def _unique(sets: list[KnowledgeSet]) -> list[KnowledgeSet]:
    seen: set[frozenset[str]] = set()
    out = []
    for s in sets:
        key = frozenset(s.columns)
        if s.columns and key not in seen:
            seen.add(key)
            out.append(s)
    return out
