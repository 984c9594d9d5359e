"""The two records written beside every synthetic table.

- The **public release manifest** (``<table>.manifest.json``) may be published with the table:
  the method and its parameters, the public schema (column names) and its hash, the privacy
  ledger, the noise source, package versions and a random ``release_id``. Everything in it is
  public (the schema, the request) or a DP output (the ledger's entries, which record what the
  mechanisms chose and their noise scales; the synthetic row count when it is the noisy estimate).
  It carries no seed, no hash or name of the input file and no exact count of the private data.
- The **private run record** (``<table>.run-record.private.json``) stays with the data owner: the
  input file's path, SHA-256 and row count, the seeds (if any), output paths and, for ``certify``,
  the split. Each of these is a function of the private data (or lets one recompute the output
  from it), so it must never be published.

The two share the ``release_id`` (uuid4 hex, drawn from the OS's random source, never derived
from the data), which a registry can use to tie a release to its private record.
"""

from __future__ import annotations

import platform
import uuid
from datetime import UTC, datetime
from importlib import metadata
from typing import Any, Protocol

from privsynth import __version__
from privsynth.schema import Schema


class Synthesizer(Protocol):
    """What the two records read from a fitted synthesizer (``privsynth.synthesizers.base``).

    A Protocol, not an import: the manifest is part of the shared base, which ``reports`` reads,
    so it must not load the synthesizer stack.
    """

    name: str
    budget: Any  # privsynth.privacy.budget.Budget
    ledger_: Any  # privsynth.privacy.ledger.PrivacyLedger
    noise_: Any  # privsynth.privacy.noise.NoiseSource

    def params(self) -> dict[str, Any]: ...

    def run_settings(self) -> dict[str, Any]: ...


MANIFEST_FORMAT = "privsynth-manifest/2"
# formats whose privacy section readers understand (/1 also held the seed and the input's hash)
READABLE_MANIFEST_FORMATS = ("privsynth-manifest/1", MANIFEST_FORMAT)
RUN_RECORD_FORMAT = "privsynth-run-record/1"
PRIVATE_NOTE = (
    "PRIVATE: keep with the data owner, never publish. It holds the input file's hash, exact row "
    "counts and seeds, which are functions of the private data."
)
_PACKAGES = ("numpy", "pandas", "scipy", "scikit-learn", "opendp", "faiss-cpu", "pyarrow")


def new_release_id() -> str:
    """A fresh release id: 32 hex digits from uuid4 (OS randomness; independent of the data)."""
    return uuid.uuid4().hex


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


def schema_release_problems(schema: Schema) -> list[str]:
    """Why a table made with ``schema`` is not a DP release, whatever the synthesizer's noise.

    The schema is public input to every mechanism, so it must be public knowledge or a DP output:
    - a draft that still carries its warning was read from the private data without DP
      (``schema infer`` without ``--epsilon``: categories and min/max bounds are exact functions of
      the rows) and has not been reviewed (the warning says to delete it after review);
    - a DP draft made with seeded noise can have its noise regenerated and removed.
    """
    problems = []
    if schema.warning:
        problems.append(
            "NOT FOR RELEASE: the schema is an unreviewed draft read from the private data "
            "without DP (its categories and bounds can reveal records); review it and delete "
            "its warning, or draft it with `schema infer --epsilon`"
        )
    dp = schema_privacy(schema)
    noise = dp.get("noise") if dp else None
    if isinstance(noise, dict) and noise.get("release") is False:
        problems.append(
            "NOT FOR RELEASE: the schema was inferred with seeded noise (`schema infer --seed`); "
            "anyone with the seed can remove it; infer it again without a seed"
        )
    return problems


def privacy_section(synth: Synthesizer, schema: Schema) -> dict[str, Any]:
    """Requested and spent privacy, the ledger and the noise source, for the public manifest."""
    ledger = synth.ledger_
    eps, delta = ledger.spent_epsilon_delta()
    total: dict[str, Any] = {"epsilon": eps, "delta": delta, "rho": ledger.rho_spent}
    schema_dp = schema_privacy(schema)
    if schema_dp is not None:
        # Basic composition of the two (epsilon, delta) guarantees is always sound.
        total = {
            "epsilon": eps + float(schema_dp.get("epsilon", 0.0)),
            "delta": delta + float(schema_dp.get("delta", 0.0)),
            "note": "synthesizer plus DP schema inference, by basic composition",
        }
    return {
        "neighbouring": "add/remove one record",
        "requested": synth.budget.to_dict(),
        "synthesizer": {"epsilon": eps, "delta": delta, "rho": ledger.rho_spent},
        "total": total,
        "ledger": ledger.to_dict(),
        "noise": synth.noise_.describe(),
    }


def build_manifest(
    synth: Synthesizer,
    *,
    schema: Schema,
    output_name: str,
    rows: int,
    rows_requested: bool,
    release_id: str,
) -> dict[str, Any]:
    """The public release manifest as a JSON-ready dict (module docstring)."""
    privacy = privacy_section(synth, schema)
    problems = schema_release_problems(schema)
    return {
        "format": MANIFEST_FORMAT,
        "release_id": release_id,
        "publishable": bool(privacy["noise"]["release"]) and not problems,
        **({"not_for_release": problems} if problems else {}),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "method": synth.name,
        "parameters": synth.params(),
        "output": {
            "file": output_name,
            "rows": rows,
            "rows_from": "requested" if rows_requested else "the noisy (DP) record count estimate",
        },
        "schema": {
            "sha256": schema.hash(),
            "columns": [c.name for c in schema.synth_columns],
            "excluded": [c.name for c in schema.columns if c.type == "exclude"],
            "privacy": schema_privacy(schema),
        },
        "privacy": privacy,
        "versions": package_versions(),
    }


def build_run_record(
    synth: Synthesizer,
    *,
    release_id: str,
    input_path: str,
    input_sha256: str,
    input_rows: int,
    outputs: dict[str, str],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The private run record as a JSON-ready dict (module docstring)."""
    return {
        "format": RUN_RECORD_FORMAT,
        "release_id": release_id,
        "keep": PRIVATE_NOTE,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "input": {"path": input_path, "sha256": input_sha256, "rows": input_rows},
        "seeds": synth.run_settings(),
        "outputs": outputs,
        **(extra or {}),
    }
