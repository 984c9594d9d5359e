"""One call that runs a whole audit: choose the canary, play the game, bound, report.

``run_audit(spec, base_codes, domain, ...)`` is the Python API behind ``privsynth dp-audit``;
``audit_for_report(...)`` wraps it for ``privsynth certify --dp-audit`` (a report section).
"""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from privsynth.domain import Domain
from privsynth.dpaudit import canaries as cn
from privsynth.dpaudit.bounds import game_bounds
from privsynth.dpaudit.game import AuditConfig, Game, new_workdir, play, score_arrays
from privsynth.dpaudit.generators import GeneratorSpec
from privsynth.dpaudit.report import AuditReport
from privsynth.dpaudit.store import RunStore
from privsynth.errors import InputError
from privsynth.progress import QUIET, Progress
from privsynth.schema import Schema


def _summary(arrays: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, dict[str, float]]:
    return {
        name: {
            "out_mean": float(np.mean(o)),
            "in_mean": float(np.mean(i)),
            "out_sd": float(np.std(o)),
            "in_sd": float(np.std(i)),
        }
        for name, (o, i) in arrays.items()
    }


def _digest(codes: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(codes, dtype=np.int64).tobytes()).hexdigest()[:16]


def store_header(
    spec: GeneratorSpec, base: np.ndarray, can: cn.Canary, config: AuditConfig
) -> dict[str, Any]:
    """The run store's fingerprint of an audit: a store of another audit is refused."""
    return {
        "generator": spec.describe(),
        "canary": {"kind": can.kind, "codes": list(can.codes)},
        "base_sha": _digest(base),
        "scores": list(config.scores),
        "seed": config.seed,
    }


def _prepare(
    spec: GeneratorSpec,
    base_codes: np.ndarray,
    domain: Domain,
    canary: str | cn.Canary,
    schema: Schema | None,
) -> tuple[np.ndarray, cn.Canary]:
    """Validate the inputs; choose the canary and the game's base table."""
    base_codes = np.asarray(base_codes, dtype=np.int64)
    if base_codes.ndim != 2 or base_codes.shape[1] != len(domain) or base_codes.shape[0] < 1:
        raise InputError(f"the base table must be a non-empty (n, {len(domain)}) array of codes")
    if spec.command is not None and schema is None:
        raise InputError("an external generator needs the schema (to write and read its tables)")
    can = canary if isinstance(canary, cn.Canary) else cn.choose(canary, base_codes, domain)
    return cn.base_for(can, base_codes), can


def run_audit(
    spec: GeneratorSpec,
    base_codes: np.ndarray,
    domain: Domain,
    *,
    canary: str | cn.Canary = "out-of-support",
    config: AuditConfig | None = None,
    schema: Schema | None = None,
    store_path: Path | None = None,
    progress: Progress = QUIET,
) -> AuditReport:
    """Audit ``spec`` on ``base_codes`` (integer codes over ``domain``) with the given canary."""
    config = config or AuditConfig()
    base, can = _prepare(spec, base_codes, domain, canary, schema)
    store = RunStore(store_path, store_header(spec, base, can, config))
    workdir = new_workdir()
    t0 = time.perf_counter()
    try:
        play(Game(spec, base, domain, can, schema, config.scores, workdir), config, store, progress)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    arrays = score_arrays(store, config)
    bounds = game_bounds(
        arrays,
        delta=spec.delta,
        confidence=config.confidence,
        select_fraction=config.select_fraction,
    )
    return AuditReport(
        generator=spec.describe(),
        canary={
            "kind": can.kind,
            "codes": list(can.codes),
            "note": can.note,
            "values": _values(can, schema),
        },
        base_rows=int(base.shape[0]),
        columns=tuple(domain.attrs),
        runs_per_world=config.runs,
        bounds=bounds,
        claim_epsilon=spec.epsilon,
        delta=spec.delta,
        seconds=time.perf_counter() - t0,
        score_summary=_summary(arrays),
        run_scores={
            k: {"out": tuple(float(v) for v in o), "in": tuple(float(v) for v in i)}
            for k, (o, i) in arrays.items()
        },
    )


def _values(can: cn.Canary, schema: Schema | None) -> dict[str, Any] | None:
    """The canary as values (for the report), when the schema is known."""
    if schema is None:
        return None
    from privsynth.dpaudit.generators import decode_fixed

    row = decode_fixed(can.array()[None, :], schema).iloc[0]
    return {k: (None if v is None else str(v)) for k, v in row.items()}


def audit_for_report(
    *,
    method: str,
    epsilon: float,
    delta: float,
    domain: Domain,
    runs: int = 200,
    canary: str = "empty-cell",
    rows: int = cn.PUBLIC_BASE_ROWS,
    jobs: int = 1,
    progress: Progress = QUIET,
) -> dict[str, Any]:
    """The ``dp_audit`` section of a release report (``privsynth certify --dp-audit``).

    It takes the PUBLIC domain only, never the private table: the base is
    ``canaries.public_base(domain, rows)``, a table built from the domain alone, and the canary
    is chosen on it. DP holds for every pair of neighbouring tables, so auditing the release's
    method and budget on this public pair tests the same guarantee, and the section (scores,
    canary, bounds: functions of public data and fresh noise only) adds no privacy cost. An audit
    on the private table would not: its run scores and canary are functions of the private rows,
    outside any DP accounting. Cost: ``2 * runs`` fits of ``method`` on ``rows`` rows of the
    domain (all its columns); pass a projected domain for a faster, smaller audit.
    """
    spec = GeneratorSpec(method=method, epsilon=epsilon, delta=delta)
    base = cn.public_base(domain, rows)
    report = run_audit(
        spec,
        base,
        domain,
        canary=canary,
        config=AuditConfig(runs=runs, jobs=jobs),
        progress=progress,
    )
    return report.section()
