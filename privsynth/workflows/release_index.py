"""The README.md of a ``certify`` folder: which files may be published and which stay private.

The split follows docs/privacy.md ("What is published"): the synthetic table and its manifest are
DP outputs; the datasheet's verdicts (one status per check, no figure) and the report's figures are
functions of the private tables computed WITHOUT differential privacy; the run record and the
internal report hold per-record details, exact counts, hashes and the seed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def release_index(
    synthetic_path: Path, audience: str, manifest: dict[str, Any], record_path: Path
) -> str:
    """README.md of a certify folder: which files may be published and which stay private."""
    from reports.gate import FILES

    table = synthetic_path.name
    reports = ", ".join(f"`{f}`" for f in FILES.values())
    noise = manifest["privacy"]["noise"]
    lines = [
        "# What may be published from this folder",
        "",
        f"Release id `{manifest['release_id']}`; noise: {noise['source']}.",
        "",
        "## Publishable",
        "",
        f"- `{table}`: the synthetic table (differentially private).",
        f"- `{table}.manifest.json`: the public release manifest (method, parameters, public "
        "schema hash, privacy ledger; no seed, no input hash, no exact count).",
        "- `datasheet.md`: the datasheet (no hash, seed, exact count or measured figure of the "
        "private data: each check's PASS / FAIL / INCONCLUSIVE (or NOT_APPLICABLE, where the "
        "sample cannot support it) beside its public threshold, "
        "computed from the private tables WITHOUT differential privacy, and figures of the "
        "synthetic table only).",
    ]
    if audience == "public":
        lines.append(
            f"- {reports}: the public report. Its attack and utility figures are computed from "
            "the private train and holdout tables WITHOUT differential privacy (aggregates with "
            "intervals, no per-record detail, no exact counts): publish them only if your policy "
            "accepts such aggregates."
        )
    lines += ["", "## Private: keep with the data owner, never publish", ""]
    lines.append(
        f"- `../{record_path.name}` (beside this folder, not in it): the private run record: the "
        "input's hash and exact row counts, the split and the seed (if one was given)."
    )
    if audience != "public":
        lines.append(
            f"- {reports}: the internal report (per-record details, exact counts, hashes, the "
            "seed if given). Re-run with `--audience public` for a publishable report."
        )
    if not noise["release"]:  # pragma: no cover - certify always uses OpenDP noise
        lines += ["", f"**{noise.get('warning', 'NOT FOR RELEASE')}**"]
    blockers = manifest.get("not_for_release") or []
    if blockers:  # the schema itself is not public knowledge: nothing here is a DP release
        lines[1:1] = ["", *[f"**{b}.**" for b in blockers], "", "Nothing in this folder is a DP "
                      "release until the run is repeated with a public or DP schema."]  # fmt: skip
    return "\n".join(lines) + "\n"
