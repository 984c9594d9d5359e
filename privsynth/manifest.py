"""The manifest written beside every synthetic table: what made it, from what, at what privacy cost.

Deterministic for a seeded run except ``created``. It names the seed: a manifest of a seeded run
must stay with the data owner (anyone holding the seed can recompute the noise; docs/privacy.md).
"""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from privsynth import __version__
from privsynth.schema import Schema
from privsynth.synthesizers.base import Synthesizer

MANIFEST_FORMAT = "privsynth-manifest/1"
_PACKAGES = ("numpy", "pandas", "scipy", "scikit-learn", "opendp", "faiss-cpu", "pyarrow")


def package_versions() -> dict[str, str]:
    """Versions of Python, privsynth and the libraries that shape its output."""
    out = {"python": platform.python_version(), "privsynth": __version__}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def schema_privacy(schema: Schema) -> dict[str, Any] | None:
    """The privacy a DP-inferred schema spent (recorded in its provenance), if any."""
    dp = schema.provenance.get("dp") if schema.provenance else None
    return dp if isinstance(dp, dict) else None


def build_manifest(
    synth: Synthesizer,
    *,
    schema: Schema,
    input_sha256: str | None,
    input_name: str | None,
    output_name: str,
    rows: int,
) -> dict[str, Any]:
    """The manifest as a JSON-ready dict."""
    ledger = synth.ledger_.to_dict()
    eps, delta = synth.ledger_.spent_epsilon_delta()
    total: dict[str, Any] = {"epsilon": eps, "delta": delta, "rho": synth.ledger_.rho_spent}
    schema_dp = schema_privacy(schema)
    if schema_dp is not None:
        # Basic composition of the two (epsilon, delta) guarantees is always sound.
        total = {
            "epsilon": eps + float(schema_dp.get("epsilon", 0.0)),
            "delta": delta + float(schema_dp.get("delta", 0.0)),
            "note": "synthesizer plus DP schema inference, by basic composition",
        }
    return {
        "format": MANIFEST_FORMAT,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "method": synth.name,
        "parameters": synth.params(),
        "seed": synth.seed,
        "input": {"file": input_name, "sha256": input_sha256},
        "output": {"file": output_name, "rows": rows},
        "schema": {
            "sha256": schema.hash(),
            "columns": [c.name for c in schema.synth_columns],
            "excluded": [c.name for c in schema.columns if c.type == "exclude"],
            "privacy": schema_dp,
        },
        "privacy": {
            "neighbouring": "add/remove one record",
            "requested": {"epsilon": synth.epsilon, "delta": synth.delta},
            "synthesizer": {"epsilon": eps, "delta": delta, "rho": synth.ledger_.rho_spent},
            "total": total,
            "ledger": ledger,
            "noise": "seeded numpy (reproducible; keep the seed secret)"
            if synth.seed is not None
            else "OpenDP samplers",
        },
        "versions": package_versions(),
    }
