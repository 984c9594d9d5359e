"""The estimator API every synthesizer shares: parameters in ``__init__``, data in ``fit``.

scikit-learn's conventions: ``__init__`` stores its keyword arguments untouched (one attribute per
parameter, same name); :meth:`Synthesizer.get_params` reads them back by introspection of the
``__init__`` signatures, so no class lists its parameters by hand. ``fit`` validates them first
(an :class:`~privsynth.errors.InputError` naming the parameter, before any data is read or budget
spent), encodes the table under the public schema, opens a privacy ledger on the
:class:`~privsynth.privacy.budget.Budget` and lets the method spend it in rho shares. The budget is
also a property: ``synth.budget.rho`` is known (and validated) before any data is read.

Fitted attributes end in ``_``. A ``fit`` that raises leaves the estimator as it was before the
call (every attribute the attempt set is rolled back), so a failed first fit leaves it unfitted and
``sample()`` raises :class:`~privsynth.errors.NotFittedError`, never a half-fitted state.
``sample(n)`` draws synthetic records from what was learned (post-processing: no further privacy
cost).

Two kinds of randomness, never mixed:

- mechanism noise: OpenDP's samplers by default (the only noise a release uses); with
  ``noise_seed=K``, seeded numpy noise, reproducible byte for byte and NOT FOR RELEASE (for tests
  and benchmarks; the manifest says so);
- post-processing randomness (sampling records from the fitted model, decoding bins): ``seed``.
  It never reaches a mechanism. Without ``seed`` it is fresh, or derived from ``noise_seed`` when
  that is given (so ``noise_seed`` alone reproduces a whole run).
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from privsynth import limits
from privsynth.domain import Domain
from privsynth.encoding import decode, release_text
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


# parameters never published in the manifest: the seeds (private run record) and the display
_UNPUBLISHED = frozenset({"seed", "noise_seed", "quiet", "progress"})


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
        self.epsilon = epsilon
        self.delta = delta
        self.seed = seed
        self.noise_seed = noise_seed
        self.quiet = quiet
        self.progress = progress

    # -- parameters -----------------------------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        """The ``__init__`` parameters, base class's first (the manifest's stable order)."""
        names: dict[str, None] = {}
        for klass in reversed(cls.__mro__):
            init = klass.__dict__.get("__init__")
            if init is None or not issubclass(klass, Synthesizer):
                continue
            for p in inspect.signature(init).parameters.values():
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                    names.setdefault(p.name, None)
        own = set(inspect.signature(cls.__init__).parameters) - {"self"}
        return [n for n in names if n in own]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters, as given (scikit-learn's ``get_params``)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Self:
        """Change constructor parameters (validated by the next ``fit``)."""
        names = set(self._param_names())
        for key, value in params.items():
            if key not in names:
                raise InputError(f"{type(self).__name__} has no parameter {key!r}")
            setattr(self, key, value)
        return self

    def params(self) -> dict[str, Any]:
        """Constructor parameters for the public manifest (seeds excluded: see ``run_settings``)."""
        return {
            name: self._public_value(name, value)
            for name, value in self.get_params().items()
            if name not in _UNPUBLISHED
        }

    def _public_value(self, name: str, value: Any) -> Any:
        """A parameter as the manifest records it (the budget's validated numbers)."""
        if name in ("epsilon", "delta"):
            return getattr(self.budget, name)
        return value.item() if isinstance(value, np.generic) else value  # JSON: no numpy scalars

    def run_settings(self) -> dict[str, Any]:
        """The run's seeds, for the private run record only (never a publishable file)."""
        return {
            "seed": _check_seed("seed", self.seed),
            "noise_seed": _check_seed("noise_seed", self.noise_seed),
        }

    @property
    def budget(self) -> Budget:
        """The validated (epsilon, delta) request and its rho (``epsilon`` may be a Budget)."""
        if isinstance(self.epsilon, Budget):
            return self.epsilon
        key = (type(self.epsilon), self.epsilon, type(self.delta), self.delta)
        memo = self.__dict__.get("_budget_memo")  # the conversion to rho takes a few ms
        if memo is None or memo[0] != key:
            memo = (key, Budget(epsilon=self.epsilon, delta=self.delta))
            self.__dict__["_budget_memo"] = memo
        return memo[1]

    def _validate_params(self) -> None:
        """Raise InputError for a bad constructor parameter (subclasses extend it)."""
        _ = self.budget
        _check_seed("seed", self.seed)
        _check_seed("noise_seed", self.noise_seed)

    @property
    def reporter(self) -> Progress:
        """Where progress and notes go: ``progress``, else silent (``quiet``) or stderr."""
        if self.progress is not None:
            return self.progress
        return QUIET if self.quiet else self._stderr_progress

    @cached_property
    def _stderr_progress(self) -> Progress:
        return Progress()

    # -- public API -----------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame | EncodedTable, schema: Schema) -> Self:
        """Learn from ``data`` (private) under ``schema`` (public), spending the privacy budget.

        ``data`` is a DataFrame (encoded in memory) or a table an engine already encoded
        (``privsynth.engines.encode_table``): the synthesizer then only asks it for marginals.
        """
        with self._fitting():
            table = encode_table(data, schema)
            for note in table.notes:  # without their private counts (docs/privacy.md)
                self.reporter.warn(release_text(note))
            self.schema_ = schema
            if table.engine == "numpy":
                return self.fit_codes(table.codes(), table.domain)
            return self._fit_data(table, table.domain)

    @contextmanager
    def _fitting(self) -> Iterator[None]:
        """Validate the parameters; on any exception restore every attribute as it was."""
        self._validate_params()
        before = dict(vars(self))
        try:
            yield
        except BaseException:
            vars(self).clear()
            vars(self).update(before)
            raise

    def fit_codes(self, codes: np.ndarray, domain: Domain) -> Self:
        """``fit`` on data already encoded to integer codes over ``domain``."""
        with self._fitting():
            return self._fit_data(check_codes(codes, domain), domain)

    def _fit_data(self, codes: np.ndarray | MarginalOracle, domain: Domain) -> Self:
        """Fit on codes or a marginal oracle (``privsynth.marginals``): the methods only count."""
        seed, noise_seed = (
            _check_seed("seed", self.seed),
            _check_seed("noise_seed", self.noise_seed),
        )
        self.domain_ = domain
        self.ledger_ = PrivacyLedger(self.budget)
        self.noise_ = NoiseSource(noise_seed)
        if seed is not None:
            self._rng = np.random.default_rng([seed, 1])
        elif noise_seed is not None:
            self._rng = np.random.default_rng([noise_seed, 2])
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

    # -- for subclasses -------------------------------------------------------------------------
    @abstractmethod
    def _fit(self, codes: np.ndarray, domain: Domain) -> None:
        """Spend ``self.ledger_`` through ``privsynth.privacy.mechanisms``; set ``self.total_``."""

    @abstractmethod
    def _sample_codes(self, n: int, rng: np.random.Generator) -> np.ndarray: ...

    def _check_fitted(self) -> None:
        if "ledger_" not in vars(self):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet (or its last fit failed): call "
                "fit(table, schema) first, then sample()"
            )

    def _n_rows(self, n: int | None) -> int:
        if n is None:
            rows, warning = limits.clip_noisy_rows(self.total_)
            if warning:
                self.reporter.warn(warning)
            return rows
        if isinstance(n, bool) or not isinstance(n, int | np.integer):
            raise InputError(f"the number of rows must be a positive integer, got {n!r}")
        return limits.check_rows(n, what="the number of rows")
