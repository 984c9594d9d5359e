"""What ``privsynth dp-audit`` does once its options are parsed: one call, ``run_command``.

The CLI (``privsynth/cli/dpaudit.py``) only declares the options; this module loads the base
table (or builds a worst-case or public one), builds the frozen configs (which validate every
option and name the bad one), runs the audit (or, with ``--one-run N``, the one-run audit of
``onerun``) and writes the report. It returns the exit code:
0 consistent or no claim, 1 violation; bad input (exit 2) is raised as an ``InputError`` (the
CLI's error handler prints one line).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from privsynth.dpaudit import scores as scoring
from privsynth.dpaudit.audit import run_audit
from privsynth.dpaudit.canaries import public_base, worst_case_base
from privsynth.dpaudit.game import AuditConfig
from privsynth.dpaudit.generators import GeneratorSpec
from privsynth.dpaudit.onerun import OneRunConfig, one_run_audit
from privsynth.encoding import encode
from privsynth.errors import InputError
from privsynth.io import DEFAULT_MISSING, write_text
from privsynth.pipeline import load_inputs
from privsynth.progress import Progress
from privsynth.schema import Schema

FORMATS = ("text", "json")


def parse_params(items: list[str] | None) -> tuple[tuple[str, Any], ...]:
    """``key=value`` pairs (value read as JSON when it parses, else as text)."""
    out = []
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--param {item!r}: expected key=value, e.g. pgm_iters=200")
        try:
            parsed: Any = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        out.append((key.strip(), parsed))
    return tuple(out)


def base_table(
    codes: np.ndarray, schema: Schema, columns: list[str] | None, rows: int | None, seed: int
) -> tuple[np.ndarray, Schema]:
    """The audit's base: the chosen columns and a fixed random subset of ``rows`` rows."""
    names = [c.name for c in schema.synth_columns]
    if columns:
        unknown = [c for c in columns if c not in names]
        if unknown:
            raise InputError(f"--columns: {unknown} not in the schema (it has {', '.join(names)})")
        idx = [names.index(c) for c in columns]
        codes = codes[:, idx]
        schema = Schema([schema[c] for c in columns], provenance=schema.provenance)
    if rows is not None:
        if rows < 2:
            raise InputError(f"--rows must be at least 2, got {rows}")
        if rows < codes.shape[0]:
            pick = np.sort(
                np.random.default_rng([seed, 7]).choice(codes.shape[0], rows, replace=False)
            )
            codes = codes[pick]
    return codes, schema


@dataclass(frozen=True, kw_only=True)
class CommandOptions:
    """The parsed options of ``privsynth dp-audit`` (validated by the configs they build)."""

    data: Path | None = None
    schema: Path | None = None
    method: str | None = None
    generator: str | None = None
    epsilon: float | None = None
    delta: float = 1e-5
    param: tuple[str, ...] = ()
    columns: str | None = None
    rows: int | None = None
    worst_case_base: int | None = None
    public_base: int | None = None
    canary: str = "out-of-support"
    scores: str = "all"
    runs: int = 200
    confidence: float = 0.95
    select_fraction: float = 0.5
    jobs: int = 1
    seed: int = 0
    noise: str = "seeded"
    noise_divisor: float = 1.0
    store: Path | None = None
    out: Path | None = None
    fmt: str = "text"
    one_run: int | None = None
    quiet: bool = False

    def __post_init__(self) -> None:
        if self.fmt not in FORMATS:
            raise InputError(f"--format must be text or json, got {self.fmt!r}")
        if self.worst_case_base is not None and self.public_base is not None:
            raise InputError("give at most one of --worst-case-base and --public-base")

    def configs(self) -> tuple[GeneratorSpec, AuditConfig]:
        names = (
            scoring.ALL
            if self.scores == "all"
            else tuple(s.strip() for s in self.scores.split(",") if s.strip())
        )
        spec = GeneratorSpec(
            method=self.method,
            command=self.generator,
            epsilon=self.epsilon,
            delta=self.delta,
            params=parse_params(list(self.param)),
            noise=self.noise,
            noise_divisor=self.noise_divisor,
        )
        config = AuditConfig(
            runs=self.runs,
            scores=names,
            confidence=self.confidence,
            jobs=self.jobs,
            seed=self.seed,
            select_fraction=self.select_fraction,
        )
        return spec, config


def load_base(opts: CommandOptions) -> tuple[np.ndarray, Schema]:
    """The base table's codes and schema (the given table, or a worst-case or public one)."""
    inputs = load_inputs(opts.data, opts.schema, missing=DEFAULT_MISSING)
    enc = encode(inputs.data, inputs.schema)
    cols = [c.strip() for c in opts.columns.split(",")] if opts.columns else None
    codes, sch = base_table(enc.codes, inputs.schema, cols, opts.rows, opts.seed)
    if opts.worst_case_base is not None:
        codes = worst_case_base(sch.domain(), opts.worst_case_base)
    if opts.public_base is not None:
        codes = public_base(sch.domain(), opts.public_base)
    return codes, sch


def run_command(opts: CommandOptions) -> int:
    """Run ``privsynth dp-audit`` with these options; return the exit code (0 or 1)."""
    spec, config = opts.configs()
    progress = Progress(quiet=opts.quiet)
    codes, sch = load_base(opts)
    report: Any
    if opts.one_run is not None:
        one = OneRunConfig(canaries=opts.one_run, confidence=opts.confidence, seed=opts.seed)
        report = one_run_audit(spec, codes, sch.domain(), config=one, schema=sch, progress=progress)
    else:
        report = run_audit(
            spec,
            codes,
            sch.domain(),
            canary=opts.canary,
            config=config,
            schema=sch,
            store_path=opts.store,
            progress=progress,
        )
    doc = report.to_dict()
    if opts.out is not None:
        write_text(opts.out, json.dumps(doc, indent=2) + "\n")
    if opts.fmt == "json":
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        for line in report.summary_lines():
            print(line)
    return int(report.exit_code)
