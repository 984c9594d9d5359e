"""Budget (from a privsynth manifest, when there is one) and provenance (hashes, versions, time).

The public variant of a provenance (``public_provenance``) drops everything that is a function of
the private tables without DP: their files' SHA-256, their exact row counts (in the inputs and in
the audit settings), the seed and the command line. The synthetic table's hash and row count and
the schema's hash stay: they are public.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from privsynth import __version__
from privsynth.io import sha256_file
from privsynth.manifest import READABLE_MANIFEST_FORMATS, package_versions
from reports.model import Budget, Provenance, Report

UNKNOWN = (
    "The synthetic table came without a privsynth manifest: the generator's privacy guarantee "
    "is UNKNOWN. The attack results below are evidence about this table only, not a guarantee."
)


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest at ``path``, or None when there is none or it is not a privsynth manifest."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") not in READABLE_MANIFEST_FORMATS:
        return None
    return data


def manifest_beside(table: Path) -> dict[str, Any] | None:
    return read_manifest(table.with_name(table.name + ".manifest.json"))


def budget_from_manifest(manifest: dict[str, Any] | None) -> Budget:
    if manifest is None:
        return Budget(known=False, statement=UNKNOWN)
    privacy = manifest.get("privacy", {})
    total = privacy.get("total", {})
    ledger = privacy.get("ledger", {})
    entries = []
    for e in ledger.get("entries", []):
        entries.append(
            {
                "what": str(e.get("what", "")),
                "mechanism": str(e.get("mechanism", "")),
                "rho": float(e.get("rho", 0.0)),
                "delta": float(e.get("delta", 0.0)),
                "scale": None if e.get("scale") is None else float(e["scale"]),
            }
        )
    eps, delta = total.get("epsilon"), total.get("delta")
    statement = (
        f"({eps:.4g}, {delta:.3g})-differential privacy for each record of the training table "
        f"({privacy.get('neighbouring', 'add/remove one record')} neighbours), "
        f"from {len(entries)} noisy measurement(s) by {manifest.get('method', '?')}."
    )
    if total.get("note"):
        statement += f" {total['note']}."
    return Budget(
        known=True,
        statement=statement,
        method=manifest.get("method"),
        epsilon=None if eps is None else float(eps),
        delta=None if delta is None else float(delta),
        rho=None if total.get("rho") is None else float(total["rho"]),
        neighbouring=privacy.get("neighbouring"),
        accounting=ledger.get("accounting"),
        entries=entries,
    )


# inputs whose hash and row count are private; settings and metric context that are exact counts
# of the private tables (or, for the seed, let one redo the split)
PRIVATE_ROLES = ("train", "holdout", "data")
PRIVATE_SETTINGS = ("seed", "n_train", "n_holdout", "n_used", "subsampling", "subsampled")
# counts in metric context and utility: every "n_*" is a count of a private table except these
PUBLIC_COUNTS = frozenset({"n_synthetic", "n_fit_synthetic"})
OTHER_PRIVATE_COUNTS = frozenset(
    {"training_rows_copied_all", "clusters", "ties", "closer_to_train", "synthetic_in_train"}
)
# Count-like names the attacks use for records of the private tables (copied, unique, singled
# out, needed): matched by shape so a new attack's counts are stripped without a list to update.
PRIVATE_COUNT_PREFIXES = ("n_", "unique_", "singled_out_", "synthetic_in_", "nonmembers_")
PRIVATE_COUNT_PARTS = ("_records", "_copied", "_rows")


def is_private_count(key: str) -> bool:
    """Whether a metric-context or utility key is an exact count of a private table."""
    if key in PUBLIC_COUNTS:
        return False
    return (
        key in OTHER_PRIVATE_COUNTS
        or key.startswith(PRIVATE_COUNT_PREFIXES)
        or any(part in key for part in PRIVATE_COUNT_PARTS)
    )


def public_provenance(provenance: Provenance) -> Provenance:
    """Strip, in place, what a public report's provenance may not carry; returns it."""
    provenance.seed = None
    provenance.command = None
    provenance.inputs = [
        {**i, "sha256": None, "rows": None} if i.get("role") in PRIVATE_ROLES else dict(i)
        for i in provenance.inputs
    ]
    for key in PRIVATE_SETTINGS:
        provenance.settings.pop(key, None)
    provenance.settings = _drop_counts(provenance.settings)
    provenance.settings = {
        k: v for k, v in provenance.settings.items() if not str(k).endswith("seconds")
    }
    indexes = provenance.settings.get("neighbors", {}).get("indexes", {})
    for name, index in indexes.items():
        if name != "synthetic" and isinstance(index, dict):
            index.pop("rows", None)
    return provenance


def _drop_counts(value: Any) -> Any:
    """``value`` with every private-count key removed from every nested dict."""
    if isinstance(value, dict):
        return {k: _drop_counts(v) for k, v in value.items() if not is_private_count(str(k))}
    if isinstance(value, list):
        return [_drop_counts(v) for v in value]
    return value


def _public_metric(metric: Any) -> Any:
    context = {k: v for k, v in metric.context.items() if not is_private_count(k)}
    return dataclasses.replace(metric, context=context)


ROC_GRID = 51  # a public ROC curve is read at fixed FPRs: its steps would reveal the sample sizes


def public_plots(plots: Any) -> Any:
    """Strip, in place, what a public report's plots would reveal of the private tables' sizes:
    histogram bars become shares of each table (3 decimals, so their sum no longer counts rows),
    ROC curves are read at ``ROC_GRID`` fixed false-positive rates (their steps are 1/n)."""
    hist = getattr(plots, "dcr_histogram", None)
    if hist:
        for side in ("train", "holdout"):
            bars = [float(v) for v in hist.get(side, [])]
            total = sum(bars)
            hist[side] = [round(v / total, 3) if total else 0.0 for v in bars]
        hist["scale"] = "share of rows"
    grid = [i / (ROC_GRID - 1) for i in range(ROC_GRID)]
    for curve in (getattr(plots, "roc", None) or {}).values():
        fpr, tpr = curve.get("fpr") or [0.0, 1.0], curve.get("tpr") or [0.0, 1.0]
        curve["fpr"] = grid
        curve["tpr"] = [round(float(v), 3) for v in np.interp(grid, fpr, tpr)]
    return plots


def public_report(report: Report) -> Report:
    """Strip, in place, every private hash, exact count and seed from a public report.

    What stays is computed from the private tables without DP (attack and utility estimates with
    intervals, histograms with small bins suppressed): docs/privacy.md discloses it.
    """
    public_provenance(report.provenance)
    public_plots(report.plots)
    for attack in report.attacks:
        attack.metrics = [_public_metric(m) for m in attack.metrics]
        attack.seconds = None  # run times grow with the private tables' sizes and contents
    if report.utility is not None:
        report.utility.metrics = [_public_metric(m) for m in report.utility.metrics]
        if report.utility.ml:
            ml = report.utility.ml
            report.utility.ml = {k: v for k, v in ml.items() if not is_private_count(k)}
    return report


def file_entry(role: str, path: Path | None, rows: int | None = None) -> dict[str, Any]:
    if path is None:
        return {"role": role, "file": None, "sha256": None, "rows": rows}
    return {"role": role, "file": Path(path).name, "sha256": sha256_file(path), "rows": rows}


def build_provenance(
    *,
    inputs: list[dict[str, Any]],
    policy: dict[str, Any],
    seed: int | None,
    settings: dict[str, Any] | None = None,
    command: str | None = None,
) -> Provenance:
    return Provenance(
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        tool=f"privsynth {__version__}",
        versions=package_versions(),
        inputs=inputs,
        policy=policy,
        seed=seed,
        settings=settings or {},
        command=command,
    )
