"""The release gate: audit result + policy -> report in every format -> exit code.

``gate_audit`` is the entry point for ``privsynth audit --policy P --report DIR`` and for
``privsynth certify``. What the report needs beside the audit and the policy (tables, paths,
manifest, utility settings, audience) is one frozen :class:`GateInputs`; the older keyword
arguments are still accepted and build one.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
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

AUDIENCES = ("internal", "public")
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


@dataclass(frozen=True, kw_only=True)
class GateInputs:
    """Everything the report needs beside the audit and the policy (one object, validated once).

    ``train`` / ``holdout`` / ``synthetic``: the tables (all three, or none: utility is computed
    only when all are given); ``*_path``: their files, for provenance; ``manifest``: the
    privsynth manifest (else the one beside ``synthetic_path``; else the budget is unknown);
    ``column_types``, ``target``, ``constraints``, ``subgroups``: utility settings (target:
    this, else the policy's ``[utility] target``); ``seed``: recorded in provenance (default:
    the audit's); ``audience``: ``internal`` or ``public``; ``min_count``: plot suppression k
    (default: the policy's); ``extra_inputs``: more provenance entries; ``command``: the
    command line to record.
    """

    train: pd.DataFrame | None = None
    holdout: pd.DataFrame | None = None
    synthetic: pd.DataFrame | None = None
    train_path: Path | None = None
    holdout_path: Path | None = None
    synthetic_path: Path | None = None
    manifest: dict[str, Any] | None = None
    column_types: dict[str, str] | None = None
    target: str | None = None
    seed: int | None = None
    audience: str = "internal"
    min_count: int | None = None
    extra_inputs: tuple[dict[str, Any], ...] = ()
    command: str | None = None
    constraints: Any = None
    subgroups: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.audience not in AUDIENCES:
            raise ValueError(f"audience must be one of {AUDIENCES}, got {self.audience!r}")
        if self.min_count is not None and (
            isinstance(self.min_count, bool) or int(self.min_count) < 1
        ):
            raise ValueError(f"min_count must be a positive integer, got {self.min_count!r}")
        for name in ("train", "holdout", "synthetic"):
            frame = getattr(self, name)
            if frame is not None and not isinstance(frame, pd.DataFrame):
                raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
        # lists given by callers are stored as tuples (the object is frozen)
        object.__setattr__(self, "extra_inputs", tuple(self.extra_inputs or ()))
        if self.subgroups is not None:
            object.__setattr__(self, "subgroups", tuple(self.subgroups))

    @property
    def has_tables(self) -> bool:
        return self.train is not None and self.holdout is not None and self.synthetic is not None

    def provenance_inputs(self) -> list[dict[str, Any]]:
        """One provenance entry per table given (file and/or frame), then ``extra_inputs``."""
        out = []
        for role in ("train", "holdout", "synthetic"):
            path, frame = getattr(self, f"{role}_path"), getattr(self, role)
            if path is not None or frame is not None:
                out.append(file_entry(role, path, None if frame is None else len(frame)))
        return out + list(self.extra_inputs)


def _inputs(inputs: GateInputs | None, fields: dict[str, Any]) -> GateInputs:
    """``inputs``, or one built from the keyword arguments of the older signature."""
    if inputs is not None and fields:
        raise TypeError(f"give a GateInputs or keyword arguments, not both: {sorted(fields)}")
    return inputs if inputs is not None else GateInputs(**fields)


def gate_audit(
    audit: AuditResult,
    policy: Policy | str | Path,
    out_dir: Path | str,
    inputs: GateInputs | None = None,
    *,
    console: Console | None = None,
    **fields: Any,
) -> int:
    """Render the report for ``audit`` under ``policy`` into ``out_dir``; return the exit code.

    ``inputs`` (or, equivalently, its fields as keyword arguments) as in :func:`make_report`.
    """
    report = make_report(audit, policy, _inputs(inputs, fields))
    render_all(report, Path(out_dir), console=console)
    return report.exit_code


def make_report(
    audit: AuditResult,
    policy: Policy | str | Path,
    inputs: GateInputs | None = None,
    **fields: Any,
) -> Report:
    """The report of ``audit`` under ``policy`` (a :class:`Policy`, a preset name or a file).

    ``inputs`` is a :class:`GateInputs`; its fields may be given as keyword arguments instead.
    Utility is computed when the three tables are given (target: ``inputs.target``, else the
    policy's ``[utility] target``, else none). The budget comes from ``inputs.manifest`` or,
    failing that, the privsynth manifest beside ``synthetic_path``; without one the report says
    it is unknown.
    """
    inp = _inputs(inputs, fields)
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    utility = heatmap = None
    if inp.has_tables:
        utility, heatmap = compute_utility(
            inp.train,
            inp.holdout,
            inp.synthetic,
            target=inp.target or policy.target,
            column_types=inp.column_types,
            seed=inp.seed or 0,
            constraints=inp.constraints,  # schema rules: satisfaction (reports/fidelity.py)
            subgroups=None if inp.subgroups is None else list(inp.subgroups),
            min_count=int(inp.min_count if inp.min_count is not None else policy.min_count),
        )
    manifest = inp.manifest
    if manifest is None and inp.synthetic_path is not None:
        manifest = manifest_beside(Path(inp.synthetic_path))
    provenance = build_provenance(
        inputs=inp.provenance_inputs(),
        policy=policy.info(),
        seed=audit.settings.get("seed") if inp.seed is None else inp.seed,
        command=inp.command,
    )
    return build_report(
        audit,
        policy,
        budget=budget_from_manifest(manifest),
        provenance=provenance,
        utility=utility,
        heatmap=heatmap,
        audience=inp.audience,
        min_count=inp.min_count,
    )
