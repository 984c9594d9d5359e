"""The estimator API every synthesizer shares: parameters in ``__init__``, data in ``fit``.

``__init__`` validates the request once into a frozen :class:`~privsynth.privacy.budget.Budget`
(``synth.budget.rho`` is known before any data is read). ``fit(table, schema)`` encodes the table
under the public schema, opens a privacy ledger on that budget and lets the method spend it in rho
shares; ``sample(n)`` draws synthetic records from what was learned (post-processing: no further
privacy cost).

Two kinds of randomness, never mixed:

- mechanism noise: OpenDP's samplers by default (the only noise a release uses); with
  ``noise_seed=K``, seeded numpy noise, reproducible byte for byte and NOT FOR RELEASE (for tests
  and benchmarks; the manifest says so);
- post-processing randomness (sampling records from the fitted model, decoding bins): ``seed``.
  It never reaches a mechanism. Without ``seed`` it is fresh, or derived from ``noise_seed`` when
  that is given (so ``noise_seed`` alone reproduces a whole run).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from privsynth import limits
from privsynth.domain import Domain
from privsynth.encoding import decode
from privsynth.engines import EncodedTable, encode_table
from privsynth.errors import InputError, NotFittedError
from privsynth.marginals import MarginalOracle
from privsynth.privacy.budget import Budget
from privsynth.privacy.ledger import PrivacyLedger
from privsynth.privacy.noise import NoiseSource
from privsynth.progress import QUIET, Progress
from privsynth.schema import Schema


def _check_seed(name: str, seed: Any) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"{name} must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_codes(codes: Any, domain: Domain) -> np.ndarray:
    """``codes`` as an int64 array, refused unless every code lies in ``0 .. size - 1`` of its column.

    Checked before a ledger exists, so that a code outside the public domain can never lengthen a
    marginal (the released domain would then depend on the data).
    """
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[1] != len(domain):
        raise InputError(f"codes must have shape (n, {len(domain)}), got {codes.shape}")
    if codes.shape[0] == 0:
        raise InputError("the table has no rows")
    if not np.issubdtype(codes.dtype, np.integer):
        raise InputError(f"codes must be integers, got dtype {codes.dtype}")
    sizes = np.asarray(domain.shape, dtype=np.int64)
    bad = (codes < 0) | (codes >= sizes[None, :])
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise InputError(
            f"column {domain.attrs[col]!r}: code {int(codes[row, col])} at row {row + 1} is "
            f"outside the domain 0..{int(sizes[col]) - 1}; encode the data with the schema first"
        )
    return codes.astype(np.int64, copy=False)


class Synthesizer(ABC):
    """Base class: a differentially private generator of synthetic tables."""

    name: ClassVar[str] = ""

    def __init__(
        self,
        epsilon: float | Budget = 1.0,
        delta: float = 1e-9,
        *,
        seed: int | None = None,
        noise_seed: int | None = None,
        quiet: bool = True,
        progress: Progress | None = None,
    ) -> None:
        self.budget = (
            epsilon if isinstance(epsilon, Budget) else Budget(epsilon=epsilon, delta=delta)
        )
        self.epsilon = self.budget.epsilon
        self.delta = self.budget.delta
        self.seed = _check_seed("seed", seed)
        self.noise_seed = _check_seed("noise_seed", noise_seed)
        self.progress = progress if progress is not None else (QUIET if quiet else Progress())

    # -- public API -----------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame | EncodedTable, schema: Schema) -> Self:
        """Learn from ``data`` (private) under ``schema`` (public), spending the privacy budget.

        ``data`` is a DataFrame (encoded in memory) or a table an engine already encoded
        (``privsynth.engines.encode_table``): the synthesizer then only asks it for marginals.
        """
        table = encode_table(data, schema)
        for note in table.notes:
            self.progress.warn(note)
        self.schema_ = schema
        if table.engine == "numpy":
            return self.fit_codes(table.codes(), table.domain)
        return self._fit_data(table, table.domain)

    def fit_codes(self, codes: np.ndarray, domain: Domain) -> Self:
        """``fit`` on data already encoded to integer codes over ``domain``."""
        return self._fit_data(check_codes(codes, domain), domain)

    def _fit_data(self, codes: np.ndarray | MarginalOracle, domain: Domain) -> Self:
        """Fit on codes or a marginal oracle (``privsynth.marginals``): the methods only count."""
        self.domain_ = domain
        self.ledger_ = PrivacyLedger(self.budget)
        self.noise_ = NoiseSource(self.noise_seed)
        if self.seed is not None:
            self._rng = np.random.default_rng([self.seed, 1])
        elif self.noise_seed is not None:
            self._rng = np.random.default_rng([self.noise_seed, 2])
        else:
            self._rng = np.random.default_rng()
        self._fit(codes, domain)
        if not hasattr(self, "total_"):
            raise RuntimeError(f"{type(self).__name__}._fit must set total_ (a noisy estimate)")
        return self

    def sample_codes(self, n: int | None = None) -> np.ndarray:
        """Synthetic records as integer codes (rows x domain attributes)."""
        self._check_fitted()
        n = self._n_rows(n)
        return self._sample_codes(n, self._rng)

    def sample(self, n: int | None = None) -> pd.DataFrame:
        """``n`` synthetic records (default: the privately estimated row count) as a table."""
        codes = self.sample_codes(n)
        if not hasattr(self, "schema_"):
            return pd.DataFrame(codes, columns=list(self.domain_.attrs))
        return decode(codes, self.schema_, self._rng)

    def params(self) -> dict[str, Any]:
        """Constructor parameters for the public manifest (seeds excluded: see ``run_settings``)."""
        return {"epsilon": self.epsilon, "delta": self.delta}

    def run_settings(self) -> dict[str, Any]:
        """The run's seeds, for the private run record only (never a publishable file)."""
        return {"seed": self.seed, "noise_seed": self.noise_seed}

    # -- for subclasses -------------------------------------------------------------------------
    @abstractmethod
    def _fit(self, codes: np.ndarray, domain: Domain) -> None:
        """Spend ``self.ledger_`` through ``privsynth.privacy.mechanisms``; set ``self.total_``."""

    @abstractmethod
    def _sample_codes(self, n: int, rng: np.random.Generator) -> np.ndarray: ...

    def _check_fitted(self) -> None:
        if not hasattr(self, "ledger_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit() first")

    def _n_rows(self, n: int | None) -> int:
        if n is None:
            rows, warning = limits.clip_noisy_rows(self.total_)
            if warning:
                self.progress.warn(warning)
            return rows
        if isinstance(n, bool) or not isinstance(n, int | np.integer):
            raise InputError(f"the number of rows must be a positive integer, got {n!r}")
        return limits.check_rows(n, what="the number of rows")
