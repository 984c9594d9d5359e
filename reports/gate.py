"""The release gate: audit result + policy -> report in every format -> exit code.

``gate_audit`` is the entry point for ``privsynth audit --policy P --report DIR`` and for
``privsynth certify``.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console

from attacks.results import AuditResult
from privsynth.io import write_text
from reports.build import build_report
from reports.model import Report
from reports.policy import Policy, load_policy
from reports.provenance import budget_from_manifest, build_provenance, file_entry, manifest_beside
from reports.render_html import render_html
from reports.render_json import render_json
from reports.render_junit import render_junit
from reports.render_markdown import render_markdown
from reports.render_terminal import render_terminal
from reports.utility import compute_utility

FILES = {
    "json": "report.json",
    "html": "report.html",
    "markdown": "report.md",
    "junit": "report.junit.xml",
    "text": "report.txt",
}
_EXTERNAL = re.compile(
    r"""(?:src|href|xlink:href|action)\s*=\s*["']?\s*(?:https?:)?//|@import|url\(\s*["']?(?:https?:)?//"""
    r"""|<script|<link\b""",
    re.IGNORECASE,
)


def external_references(html: str) -> list[str]:
    """Anything in ``html`` that would fetch from elsewhere (should be empty)."""
    return [m.group(0) for m in _EXTERNAL.finditer(html)] + re.findall(r"https?://", html)


def render_all(report: Report, out_dir: Path, *, console: Console | None = None) -> dict[str, Path]:
    """Write every rendering into ``out_dir`` (created if missing); print the terminal view."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    html = render_html(report)
    leaks = external_references(html)
    if leaks:  # a renderer bug, never the user's input: fail loudly
        raise RuntimeError(f"HTML report would fetch external resources: {leaks[:3]}")
    record = Console(record=True, width=120, file=io.StringIO())
    render_terminal(report, record)
    texts = {
        "json": render_json(report),
        "html": html,
        "markdown": render_markdown(report),
        "junit": render_junit(report),
        "text": record.export_text(),
    }
    paths = {}
    for key, text in texts.items():
        paths[key] = out_dir / FILES[key]
        write_text(paths[key], text)
    if console is not None:
        render_terminal(report, console)
    return paths


def gate_audit(
    audit: AuditResult,
    policy: Policy | str | Path,
    out_dir: Path | str,
    *,
    train: pd.DataFrame | None = None,
    holdout: pd.DataFrame | None = None,
    synthetic: pd.DataFrame | None = None,
    train_path: Path | None = None,
    holdout_path: Path | None = None,
    synthetic_path: Path | None = None,
    manifest: dict[str, Any] | None = None,
    column_types: dict[str, str] | None = None,
    target: str | None = None,
    seed: int | None = None,
    audience: str = "internal",
    min_count: int | None = None,
    extra_inputs: list[dict[str, Any]] | None = None,
    command: str | None = None,
    console: Console | None = None,
    constraints: Any = None,
    subgroups: list[str] | None = None,
) -> int:
    """Render the report for ``audit`` under ``policy`` into ``out_dir``; return the exit code.

    Utility is computed when the three tables are given (target: ``target``, else the policy's
    ``[utility] target``, else none). The budget comes from ``manifest`` or, failing that, the
    privsynth manifest beside ``synthetic_path``; without one the report says it is unknown.
    """
    report = make_report(
        audit,
        policy,
        train=train,
        holdout=holdout,
        synthetic=synthetic,
        train_path=train_path,
        holdout_path=holdout_path,
        synthetic_path=synthetic_path,
        manifest=manifest,
        column_types=column_types,
        target=target,
        seed=seed,
        audience=audience,
        min_count=min_count,
        extra_inputs=extra_inputs,
        command=command,
        constraints=constraints,
        subgroups=subgroups,
    )
    render_all(report, Path(out_dir), console=console)
    return report.exit_code


def make_report(
    audit: AuditResult,
    policy: Policy | str | Path,
    *,
    train: pd.DataFrame | None = None,
    holdout: pd.DataFrame | None = None,
    synthetic: pd.DataFrame | None = None,
    train_path: Path | None = None,
    holdout_path: Path | None = None,
    synthetic_path: Path | None = None,
    manifest: dict[str, Any] | None = None,
    column_types: dict[str, str] | None = None,
    target: str | None = None,
    seed: int | None = None,
    audience: str = "internal",
    min_count: int | None = None,
    extra_inputs: list[dict[str, Any]] | None = None,
    command: str | None = None,
    constraints: Any = None,
    subgroups: list[str] | None = None,
) -> Report:
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    utility = heatmap = None
    if train is not None and holdout is not None and synthetic is not None:
        utility, heatmap = compute_utility(
            train,
            holdout,
            synthetic,
            target=target or policy.target,
            column_types=column_types,
            seed=seed or 0,
            constraints=constraints,  # schema rules: satisfaction (reports/fidelity.py)
            subgroups=subgroups,
            min_count=int(min_count if min_count is not None else policy.min_count),
        )
    if manifest is None and synthetic_path is not None:
        manifest = manifest_beside(Path(synthetic_path))
    inputs = []
    for role, path, frame in (
        ("train", train_path, train),
        ("holdout", holdout_path, holdout),
        ("synthetic", synthetic_path, synthetic),
    ):
        if path is not None or frame is not None:
            entry = file_entry(role, path, None if frame is None else len(frame))
            inputs.append(entry)
    inputs += extra_inputs or []
    if seed is None:
        seed = audit.settings.get("seed")
    provenance = build_provenance(
        inputs=inputs,
        policy=policy.info(),
        seed=seed,
        command=command,
    )
    return build_report(
        audit,
        policy,
        budget=budget_from_manifest(manifest),
        provenance=provenance,
        utility=utility,
        heatmap=heatmap,
        audience=audience,
        min_count=min_count,
    )
