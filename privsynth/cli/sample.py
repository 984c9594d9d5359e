"""``privsynth sample``: draw records from a saved DP model (free post-processing).

Conditions (``--where``), rebalancing (``--rebalance COL[=p1,p2,...]``) and edge-case packs
(``--edge-cases``) only edit the saved model's potentials and reject rows; none of them reads the
private data, so none spends privacy budget (see :mod:`privsynth.model_store`).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from privsynth.cli import options as opt
from privsynth.cli.app import handle_errors
from privsynth.errors import InputError
from privsynth.progress import Progress

EDGE_TEMPERATURE = 0.3


def parse_rebalance(text: str | None) -> tuple[str | None, list[float] | None]:
    """``COL`` (uniform) or ``COL=p1,p2,...`` (proportions, one per value in schema order)."""
    if text is None:
        return None, None
    col, sep, rest = text.partition("=")
    if not col.strip():
        raise InputError(f"--rebalance {text!r}: give a column name, e.g. --rebalance income")
    if not sep:
        return col.strip(), None
    try:
        props = [float(x) for x in rest.split(",")]
    except ValueError:
        raise InputError(
            f"--rebalance {text!r}: proportions must be numbers separated by commas"
        ) from None
    return col.strip(), props


@handle_errors
def sample(
    model: Path = typer.Argument(..., help="Model folder written by `synth --save-model`."),
    rows: int | None = typer.Option(
        None, "--rows", "-n", min=1, help="Rows to draw (default: the model's noisy count)."
    ),
    where: str | None = typer.Option(
        None, "--where", help="Condition on a rule, e.g. 'income == \">50K\" and age < 30'."
    ),
    rebalance: str | None = typer.Option(
        None, "--rebalance", help="COL (uniform) or COL=p1,p2,... (one share per value)."
    ),
    edge_cases: bool = typer.Option(
        False, "--edge-cases", help="Draw rare combinations far more often (tempered model)."
    ),
    seed: int | None = typer.Option(
        None, "--seed", min=0, help="Seed of the sampling (reproducible)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Output table (.csv, .csv.gz or .parquet)."),
    quiet: opt.Quiet = False,
) -> None:
    """Draw synthetic records from a saved DP model (no privacy cost)."""
    from privsynth.io import atomic_path, write_table
    from privsynth.model_store import load_model
    from privsynth.pipeline import check_output, manifest_path

    check_output(out)
    col, props = parse_rebalance(rebalance)
    progress = Progress(quiet=quiet)
    saved = load_model(model)
    saved.conditions(where)  # a bad --where fails here, with one line
    if saved.info.get("seeded"):
        progress.warn(f"{model}: fitted with a seed: a test model, not a release (docs/privacy.md)")
    with progress.task("sampling", total=1) as advance:
        result = saved.sample(
            rows,
            where=where,
            rebalance=col,
            proportions=props,
            temperature=EDGE_TEMPERATURE if edge_cases else None,
            seed=seed,
        )
        advance()
    manifest = {
        "format": "privsynth-sample/1",
        "model": str(model),
        "method": saved.info.get("method"),
        "privacy": saved.info.get("privacy"),
        "request": {"rows": rows, "where": where, "rebalance": rebalance, "edge_cases": edge_cases},
        "sampling": result.stats,
    }
    with atomic_path(manifest_path(out)) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        write_table(result.table, out)
    progress.note(
        f"wrote {out} ({len(result.table)} rows) from {model}; no privacy spent "
        f"(acceptance {result.stats['acceptance']:.3g})"
    )
