"""``privsynth release reaudit``: re-run the attack suite and the gate for a stored release.

The public manifest carries no private paths, so the caller names the training and holdout
tables; the synthetic table defaults to the one recorded at commit. The stored manifest's hash is
checked first (a manifest changed since the release is an error). The new report is flagged with
the release's registry status (a suspended or retired release says so in its summary and its
provenance), and the re-audit is kept in the release's audit trail; the release's original
verdict is not overwritten. Re-auditing reads no new private data through a mechanism and spends
no budget (the attacks are evaluation, internal output).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console

from privsynth.errors import InputError
from privsynth.io import read_table, sha256_file
from privsynth.registry.registry import Registry, ReleaseInfo


def _manifest(rel: ReleaseInfo) -> dict[str, Any] | None:
    if not rel.manifest_path:
        return None
    path = Path(rel.manifest_path)
    if not path.is_file():
        raise InputError(f"release {rel.id}: its manifest {path} is gone (was it moved?)")
    if rel.manifest_sha256 and sha256_file(path) != rel.manifest_sha256:
        raise InputError(f"release {rel.id}: {path} changed since the release (hash differs)")
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else None


def synthetic_of(rel: ReleaseInfo, synthetic: Path | None) -> Path:
    """The release's synthetic table: the given one, the recorded one, or beside its manifest."""
    if synthetic is None and rel.synthetic_path:
        synthetic = Path(rel.synthetic_path)
    if synthetic is None and rel.manifest_path and rel.manifest_path.endswith(".manifest.json"):
        synthetic = Path(rel.manifest_path[: -len(".manifest.json")])
    if synthetic is None:
        raise InputError(f"release {rel.id}: no synthetic table recorded; give --synthetic")
    if not synthetic.is_file():
        raise InputError(
            f"release {rel.id}: synthetic table {synthetic} not found; give --synthetic"
        )
    return synthetic


def read_tables(
    rel: ReleaseInfo, train: Path, holdout: Path, synthetic: Path | None
) -> tuple[dict[str, Any], Path, list[str]]:
    """The three tables cut to the release's columns, the synthetic table's path, the columns."""
    syn_path = synthetic_of(rel, synthetic)
    frames = {"train": read_table(train), "holdout": read_table(holdout)}
    frames["synthetic"] = read_table(syn_path)
    cols = [str(c) for c in frames["synthetic"].columns]
    for role in ("train", "holdout"):
        missing = sorted(set(cols) - {str(c) for c in frames[role].columns})
        if missing:
            raise InputError(f"--{role}: lacks the release's columns {missing}")
    return {role: df[cols] for role, df in frames.items()}, syn_path, cols


def flag_report(report: Any, rel: ReleaseInfo) -> None:
    """Mark the report with the release's registry status (a suspended release says so)."""
    flag = {"release_id": rel.id, "source": rel.source_id, "version": rel.version}
    report.provenance.settings["registry"] = {**flag, "status": rel.status}
    if rel.status != "active":
        reason = rel.reason or "no reason recorded"
        report.summary = f"{rel.status.upper()} RELEASE ({reason}): {report.summary}"


def reaudit(
    reg: Registry,
    release_id: str,
    *,
    train: Path,
    holdout: Path,
    synthetic: Path | None,
    policy: str,
    out: Path,
    seed: int = 0,
    jobs: int = -1,
    console: Console | None = None,
) -> dict[str, Any]:
    """Audit the stored release again; write the report to ``out``; record it; return a summary."""
    from attacks import run_audit
    from reports.gate import make_report, render_all
    from reports.policy import load_policy
    from reports.utility import default_target_of_table

    rel = reg.release(release_id)
    if rel.status in ("reserved", "cancelled"):
        raise InputError(f"release {rel.id} is {rel.status}: there is nothing released to audit")
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    pol = load_policy(policy)
    manifest = _manifest(rel)
    frames, syn_path, cols = read_tables(rel, train, holdout, synthetic)
    tables = (frames["train"], frames["holdout"], frames["synthetic"])
    audit = run_audit(*tables, seed=seed, n_jobs=jobs)  # AuditInputError is an InputError
    report = make_report(
        audit,
        pol,
        train=tables[0],
        holdout=tables[1],
        synthetic=tables[2],
        synthetic_path=syn_path,
        manifest=manifest,
        seed=seed,
        target=pol.target or default_target_of_table(tables[2]),
    )
    flag_report(report, rel)
    paths = render_all(report, out, console=console)
    report_sha = sha256_file(paths["json"])
    reg.record_event(
        rel.id,
        "reaudited",
        f"verdict={report.verdict} policy={pol.source} report={paths['json']} sha256={report_sha}",
    )
    return {
        "release_id": rel.id,
        "status": rel.status,
        "original_verdict": rel.verdict,
        "verdict": report.verdict,
        "exit_code": report.exit_code,
        "report": str(paths["json"]),
        "report_sha256": report_sha,
    }
