"""The workflows' configurations: frozen, keyword-only dataclasses validated in ``__post_init__``.

A config holds what a run was asked to do, checked once at construction: a bad field raises
:class:`privsynth.errors.OptionError` naming the field (the CLI names the flag), so nothing is
read, spent or written for a config that cannot run. The privacy budget is validated here once
(``validate_epsilon_delta``) and carried as ``budget``; ``seed`` never reaches a mechanism
(docs/privacy.md: the mechanisms always draw from OpenDP unless ``noise_seed`` is given, which
marks the output NOT FOR RELEASE).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from privsynth.errors import OptionError
from privsynth.io import DEFAULT_MISSING

if TYPE_CHECKING:
    from privsynth.engines import EngineConfig
    from privsynth.privacy.budget import Budget

Audience = Literal["internal", "public"]
AUDIENCES: tuple[str, ...] = ("internal", "public")


def _non_negative(name: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or value < 0):
        raise OptionError(name, f"must be a non-negative integer, got {value}")


def _jobs(value: int) -> None:
    if value == 0 or value < -1:
        raise OptionError("jobs", "must be a positive number of threads, or -1 for every CPU")


def _audience(value: str) -> None:
    if value not in AUDIENCES:
        raise OptionError("audience", f"must be internal or public, got {value!r}")


def _budget(epsilon: float, delta: float) -> Budget:
    from privsynth.privacy.ledger import validate_epsilon_delta

    return validate_epsilon_delta(epsilon, delta)


@dataclass(frozen=True, kw_only=True)
class RegistryTarget:
    """Where a release is recorded (docs/governance.md): a registry, the source whose lifetime
    budget the run spends, and the release it refreshes. All None: no registry."""

    registry: str | None = None
    source: str | None = None
    parent: str | None = None


@dataclass(frozen=True, kw_only=True)
class DpAuditSettings:
    """``certify``'s optional empirical DP audit (docs/dp-audit.md): ``runs`` per world.

    The audit's base table is built from the public domain alone, never from the private table.
    """

    runs: int = 200

    def __post_init__(self) -> None:
        if isinstance(self.runs, bool) or self.runs < 2:
            raise OptionError("dp_audit_runs", f"must be at least 2, got {self.runs}")


@dataclass(frozen=True, kw_only=True)
class SynthesisConfig:
    """One ``synthesize_release`` run: fit ``method`` on ``data`` and write ``out`` with its
    public manifest and private run record (``rows=None``: the noisy record count)."""

    data: Path
    schema: Path
    out: Path
    epsilon: float
    delta: float = 1e-9
    method: str = "aim"
    rows: int | None = None
    seed: int | None = None
    noise_seed: int | None = None
    missing: tuple[str, ...] = DEFAULT_MISSING
    save_model: Path | None = None
    engine: str = "auto"
    engine_config: EngineConfig | None = None
    registry: RegistryTarget = field(default_factory=RegistryTarget)
    budget: Budget = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "budget", _budget(self.epsilon, self.delta))
        if self.rows is not None:
            from privsynth.limits import check_rows

            check_rows(self.rows)
        _non_negative("seed", self.seed)
        _non_negative("noise_seed", self.noise_seed)
        if self.save_model is not None and Path(self.save_model).exists():
            raise OptionError(
                "save_model", f"{self.save_model}: already exists; give a new folder name"
            )


@dataclass(frozen=True, kw_only=True)
class AuditTablesConfig:
    """One ``audit_tables`` run on a (train, holdout, synthetic) triple of files.

    ``schema``: a privsynth schema or Private-PGM domain file (column types, roles; ``exclude``
    columns are dropped from the audit). ``qi``/``secrets``: the attacker's knowledge and targets
    (None: the schema's roles, else the harness's defaults). With ``policy`` the result is gated
    and the report written to ``report_dir``.
    """

    train: Path
    holdout: Path
    synthetic: Path
    schema: Path | None = None
    qi: tuple[str, ...] | None = None
    secrets: tuple[str, ...] | None = None
    seed: int = 0
    policy: str | None = None
    report_dir: Path | None = None
    target: str | None = None
    audience: Audience = "internal"
    subgroups: tuple[str, ...] | None = None
    jobs: int = -1
    json_out: str | None = None

    def __post_init__(self) -> None:
        _non_negative("seed", self.seed)
        _jobs(self.jobs)
        _audience(self.audience)
        if self.policy is None and self.report_dir is not None:
            raise OptionError("report_dir", "needs a policy (standard, strict, or a TOML file)")
        if self.policy is None and self.subgroups:
            raise OptionError("subgroups", "need a policy (the subgroup view is in the report)")


@dataclass(frozen=True, kw_only=True)
class CertifyConfig:
    """One ``certify`` run: split, synthesize from the training rows, audit against the holdout,
    report, gate; every file lands in ``out`` (the private run record beside it).

    ``seed`` drives the split, the sampling and the attacks, never the privacy noise; without it a
    fresh seed is drawn and written nowhere. ``command`` is the command line recorded in the
    internal report (None: none).
    """

    data: Path
    schema: Path
    epsilon: float
    delta: float = 1e-9
    method: str = "aim"
    policy: str = "standard"
    seed: int | None = None
    out: Path = Path("certify-out")
    holdout_fraction: float = 0.2
    target: str | None = None
    audience: Audience = "internal"
    rows: int | None = None
    registry: RegistryTarget = field(default_factory=RegistryTarget)
    subgroups: tuple[str, ...] | None = None
    jobs: int = -1
    dp_audit: DpAuditSettings | None = None
    command: str | None = None
    budget: Budget = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "budget", _budget(self.epsilon, self.delta))
        if self.rows is not None:
            from privsynth.limits import check_rows

            check_rows(self.rows)
        if not 0 < self.holdout_fraction < 1:
            raise OptionError("holdout_fraction", f"must be in (0, 1), got {self.holdout_fraction}")
        _non_negative("seed", self.seed)
        _jobs(self.jobs)
        _audience(self.audience)
