"""Budget (from a privsynth manifest, when there is one) and provenance (hashes, versions, time)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from privsynth import __version__
from privsynth.io import sha256_file
from privsynth.manifest import MANIFEST_FORMAT, package_versions
from reports.model import Budget, Provenance

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
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
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
