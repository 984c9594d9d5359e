"""Is the holdout apart from the train table? A check on the audit's input, not an attack.

Every control of the harness compares what the synthetic table reveals about the training
records with what it reveals about the holdout records, which the generator never saw. A holdout
drawn from the training records (the whole table passed as train and a sample of it as holdout,
the same file twice, an overlapping split) makes the control a member set: every excess is about
zero and a leaking synthetic table PASSes. So such input is refused, not audited.

The test. Rows are compared exactly on every column (:mod:`attacks.rowkeys`). Let ``U`` be the
holdout rows with no exact copy among the train rows. Under a valid split, train and holdout are
drawn apart from one population and ``U / n_H`` estimates the population's probability mass not
covered by the train table; the Good-Turing estimate of that mass from the train table alone is
``N1 / n_T``, its share of rows whose combination occurs once (Good 1953). A holdout that is a
subset of train has ``U = 0``; one that overlaps it in a share ``o`` has ``U`` about ``(1 - o)``
times the expectation. The check refuses the tables when

    E = n_H x N1 / n_T >= MIN_EXPECTED (20)   and   U <= max(E / 4, E - Z x sqrt(V)),

with ``V = E (1 + n_H / n_T)`` and ``Z = 5``. Under a valid split ``U`` is about ``E``: ``U``
is nearly Poisson (variance about ``E``) and the estimate ``E`` carries the variance of ``N1``
scaled by ``(n_H / n_T)^2``, about ``E n_H / n_T`` (``N1`` is nearly Poisson too), so ``V``
is the variance of ``U - E`` and the second bound lies five standard deviations below; the
first, ``E / 4``, is more than 3.8 of them below at the smallest ``E`` tested (20). Measured
(2026-12-03; `benchmarks/split_check_null.py`) on 660 seeded valid splits of the shared tables (Adult, discretised Adult, NLTCS,
Titanic; all rows, 2,000 and 400 rows; 80/20, 50/50 and 30/70): none refused, the smallest
``(U - E) / sqrt(V)`` -2.12 (NLTCS; Adult's lie within +-0.1, since nearly all its records are
unique and ``U`` is nearly fixed). A half-overlapping holdout
(``U / E`` about 0.5) is refused from ``E`` of about 200 upward (at 80/20), a subset or the same
table from ``E = 20``. Where it cannot decide it stays silent:

* ``E < 20``: the population repeats its records (few singletons), so an overlap is not visible
  in the counts (e.g. a few binary columns);
* a deduplicated train table (no repeated row) beside a holdout with repeated rows: every train
  row is then a singleton and ``E`` overstates the uncovered mass, so the premise fails.

The check reads only the two real tables and raises before any attack runs; it publishes
nothing (the error names counts, never a value).
"""

from __future__ import annotations

import math

import numpy as np

from attacks.errors import AuditInputError

__all__ = ["MIN_EXPECTED", "Z", "check_holdout_apart", "holdout_coverage", "standardised_gap"]

MIN_EXPECTED = 20.0
Z = 5.0  # standard deviations of U - E below 0 before the tables are refused


def holdout_coverage(key_t: np.ndarray, key_h: np.ndarray) -> tuple[int, float, bool]:
    """From exact row keys of train and holdout (shared key space): the holdout rows with no
    copy in train (``U``), the Good-Turing expectation of that count under a valid split
    (``E``), and whether the test applies (not a deduplicated train beside a repeating
    holdout)."""
    n_t, n_h = key_t.size, key_h.size
    size = int(max(key_t.max(initial=-1), key_h.max(initial=-1))) + 1
    count_t = np.bincount(key_t, minlength=size)
    count_h = np.bincount(key_h, minlength=size)
    unmatched = int((count_t[key_h] == 0).sum())
    singletons = int((count_t == 1).sum())
    expected = n_h * singletons / n_t if n_t else 0.0
    deduplicated = bool(count_t.max(initial=0) <= 1 and count_h.max(initial=0) > 1)
    return unmatched, float(expected), not deduplicated


def standardised_gap(unmatched: int, expected: float, n_h: int, n_t: int) -> float:
    """``(U - E) / sqrt(V)`` with ``V = E (1 + n_H / n_T)`` (module docstring); needs E > 0."""
    return (unmatched - expected) / math.sqrt(expected * (1 + n_h / n_t))


def check_holdout_apart(key_t: np.ndarray, key_h: np.ndarray) -> None:
    """Raise :class:`AuditInputError` when the holdout is demonstrably drawn from the train
    records (module docstring); silent otherwise."""
    unmatched, expected, applies = holdout_coverage(key_t, key_h)
    n_h, n_t = key_h.size, key_t.size
    if not applies or expected < MIN_EXPECTED:
        return
    if unmatched > expected / 4 and standardised_gap(unmatched, expected, n_h, n_t) > -Z:
        return
    raise AuditInputError(
        f"the holdout table is not apart from the train table: {n_h - unmatched:,} of its "
        f"{n_h:,} rows are exact copies of train rows, where a holdout drawn apart would leave "
        f"about {expected:,.0f} unmatched ({unmatched:,} are); the holdout must be records the "
        "generator never saw: split the data before synthesis and pass the unseen part as "
        "--holdout (privsynth certify splits for you)"
    )
