"""The estimator API every synthesizer shares: parameters in ``__init__``, data in ``fit``.

``fit(table, schema)`` encodes the table under the public schema, opens a privacy ledger for the
requested (epsilon, delta) and lets the method spend it; ``sample(n)`` draws synthetic records from
what was learned (post-processing: no further privacy cost).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from privsynth.domain import Domain
from privsynth.encoding import decode
from privsynth.engines import EncodedTable, encode_table
from privsynth.errors import InputError, NotFittedError
from privsynth.marginals import MarginalOracle
from privsynth.privacy.ledger import PrivacyLedger, validate_epsilon_delta
from privsynth.privacy.noise import NoiseSource
from privsynth.progress import QUIET, Progress
from privsynth.schema import Schema


class Synthesizer(ABC):
    """Base class: a differentially private generator of synthetic tables."""

    name: ClassVar[str] = ""

    def __init__(
        self,
        epsilon: float = 1.0,
        delta: float = 1e-9,
        *,
        seed: int | None = None,
        quiet: bool = True,
        progress: Progress | None = None,
    ) -> None:
        validate_epsilon_delta(epsilon, delta)
        if seed is not None and (not isinstance(seed, int | np.integer) or seed < 0):
            raise InputError(f"seed must be a non-negative integer, got {seed!r}")
        self.epsilon = float(epsilon)
        self.delta = float(delta)
        self.seed = None if seed is None else int(seed)
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
        codes = np.asarray(codes)
        if codes.ndim != 2 or codes.shape[1] != len(domain):
            raise InputError(f"codes must have shape (n, {len(domain)}), got {codes.shape}")
        if codes.shape[0] == 0:
            raise InputError("the table has no rows")
        return self._fit_data(codes, domain)

    def _fit_data(self, codes: np.ndarray | MarginalOracle, domain: Domain) -> Self:
        """Fit on codes or a marginal oracle (``privsynth.marginals``): the methods only count."""
        self.domain_ = domain
        self.ledger_ = PrivacyLedger(epsilon=self.epsilon, delta=self.delta)
        self.noise_ = NoiseSource(self.seed)
        self._rng = np.random.default_rng(None if self.seed is None else [self.seed, 1])
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
        """Constructor parameters, for the manifest."""
        return {"epsilon": self.epsilon, "delta": self.delta, "seed": self.seed}

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
            return max(int(round(self.total_)), 1)
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise InputError(f"the number of rows must be a positive integer, got {n!r}")
        return int(n)
