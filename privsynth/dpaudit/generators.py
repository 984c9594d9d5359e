"""The generator in the loop: a privsynth synthesizer (through one adapter) or an external command.

``GeneratorSpec`` says what to run; ``generate(spec, codes, domain, schema, seed, workdir)`` runs it
once on a table of integer codes and returns the synthetic codes plus, for our own synthesizers,
the fitted object (for white-box scores).

**Noise.** ``noise="seeded"`` (the default, for speed) gives each run a fresh, independent seed for
the synthesizer's numpy noise: the same discrete Gaussian and Gumbel distributions as OpenDP's
samplers (privsynth/privacy/noise.py), so the audit measures the mechanism, not the sampler.
``noise="opendp"`` uses OpenDP's samplers, as a release does (slower).

**Broken variant** (for the self-test): ``noise_divisor=k`` runs the synthesizer with the noise scale
divided by ``k`` while the claim stays the original (epsilon, delta): every Gaussian sigma scales
as ``1 / sqrt(rho)``, so we fit at ``rho * k^2`` (and selection epsilon ``* k``), converted back to
the epsilon the synthesizer takes. The audit must flag it.

**External generators** are a command template with ``{train}`` (a CSV the audit writes: the base
table, plus the canary in the "in" world, decoded with the schema) and ``{out}`` (the CSV the
command must write, with the schema's columns); ``{seed}`` is optional. Output values are encoded
with the schema; a value outside it is an error naming the column.
"""

from __future__ import annotations

import functools
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from privsynth.domain import Domain
from privsynth.encoding import decode, encode
from privsynth.errors import InputError
from privsynth.io import read_table
from privsynth.privacy.accounting import epsilon_to_rho, rho_to_epsilon
from privsynth.privacy.budget import Budget
from privsynth.schema import Schema
from privsynth.synthesizers import METHODS, get_synthesizer

NOISE = ("seeded", "opendp")


@dataclass(frozen=True, kw_only=True)
class GeneratorSpec:
    """What the game runs. ``method`` (a privsynth method) or ``command`` (a template), not both."""

    method: str | None = None
    command: str | None = None
    epsilon: float | None = None  # the claim (required for a method; optional for a command)
    delta: float = 1e-5
    params: tuple[tuple[str, Any], ...] = ()
    noise: str = "seeded"
    noise_divisor: float = 1.0
    timeout_s: float = 600.0

    def __post_init__(self) -> None:
        if (self.method is None) == (self.command is None):
            raise InputError(
                "give exactly one generator: a privsynth --method or a --generator command"
            )
        if self.method is not None:
            if self.method.lower() not in METHODS:
                raise InputError(
                    f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}"
                )
            if self.epsilon is None:
                raise InputError("a privsynth method needs its claimed --epsilon")
        if self.command is not None:
            for key in ("{train}", "{out}"):
                if key not in self.command:
                    raise InputError(
                        f"the --generator template must contain {key}, e.g. "
                        "'python gen.py --in {train} --out {out}'"
                    )
        if self.epsilon is not None and not 0 < self.epsilon <= 100:
            raise InputError(f"--epsilon must be in (0, 100], got {self.epsilon}")
        if not 0 < self.delta < 1:
            raise InputError(f"--delta must be in (0, 1), got {self.delta}")
        if self.noise not in NOISE:
            raise InputError(f"--noise must be one of {', '.join(NOISE)}, got {self.noise!r}")
        if not self.noise_divisor >= 1:
            raise InputError(f"noise_divisor must be >= 1, got {self.noise_divisor}")

    def describe(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "command": self.command,
            "claim": None
            if self.epsilon is None
            else {"epsilon": self.epsilon, "delta": self.delta},
            "params": dict(self.params),
            "noise": self.noise,
            "noise_divisor": self.noise_divisor,
        }

    def fit_epsilon(self) -> float:
        """The epsilon the synthesizer is run at (the claim, or the broken variant's larger one)."""
        assert self.epsilon is not None
        if self.noise_divisor == 1:
            return self.epsilon
        rho = epsilon_to_rho(self.epsilon, self.delta) * self.noise_divisor**2
        return min(rho_to_epsilon(rho, self.delta), 100.0)


@dataclass(frozen=True)
class Output:
    """One run's synthetic codes and, for a privsynth method, the fitted synthesizer."""

    codes: np.ndarray
    fitted: Any = None


@functools.lru_cache(maxsize=16)
def _budget(epsilon: float, delta: float) -> Budget:
    """The run's budget, converted to rho once per process (the conversion is a bisection)."""
    return Budget(epsilon=epsilon, delta=delta)


def fit_privsynth(
    spec: GeneratorSpec, codes: np.ndarray, domain: Domain, seed: int | None, *, sample: bool = True
) -> Output:
    """THE adapter to privsynth's synthesizers: every audit run of a method goes through here.

    ``seed`` is the run's fresh noise seed (``None`` for OpenDP noise). ``fit_codes`` is ``fit``
    on data already encoded under the schema (the same mechanism; no decode/encode round trip).
    ``sample=False`` skips drawing the synthetic table when only the white-box score (the
    released measurements) is read: the mechanism, and so what is audited, is the same.
    """
    cls = get_synthesizer(str(spec.method))
    budget = _budget(spec.fit_epsilon(), spec.delta)
    synth = cls(epsilon=budget, noise_seed=seed, **dict(spec.params))
    synth.fit_codes(codes, domain)
    synth_codes = synth.sample_codes() if sample else np.zeros((0, len(domain)), dtype=np.int64)
    return Output(synth_codes, synth)


def run_command(
    spec: GeneratorSpec, table: pd.DataFrame, schema: Schema, seed: int, workdir: Path
) -> Output:
    """Run the external generator once on ``table``; encode what it wrote."""
    workdir.mkdir(parents=True, exist_ok=True)
    train, out = workdir / "train.csv", workdir / "out.csv"
    table.to_csv(train, index=False)
    out.unlink(missing_ok=True)
    cmd = str(spec.command).format(
        train=shlex.quote(str(train)), out=shlex.quote(str(out)), seed=seed
    )
    try:
        proc = subprocess.run(
            cmd, shell=True, capture_output=True, text=True, timeout=spec.timeout_s, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise InputError(f"the generator ran over {spec.timeout_s:g} s: {cmd}") from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise InputError(f"the generator exited {proc.returncode}: {tail[0]} (command: {cmd})")
    if not out.is_file():
        raise InputError(f"the generator wrote no {{out}} file (command: {cmd})")
    synth = read_table(out)
    try:
        enc = encode(synth, schema)
    except InputError as exc:
        raise InputError(f"the generator's output does not fit the schema: {exc}") from exc
    return Output(enc.codes)


def decode_fixed(codes: np.ndarray, schema: Schema) -> pd.DataFrame:
    """Codes to values with a fixed generator, so the same codes always give the same table."""
    return decode(codes, schema, np.random.default_rng(0))
