"""Append-only JSONL record of an audit's runs, so an interrupted audit resumes where it stopped.

Line 1 is a header: the audit's fingerprint (generator, canary, base table hash, scores, seed).
Every later line is one finished run: ``{"world": "in"|"out", "run": i, "seed": s, "scores": {...}}``,
written and flushed as soon as the run ends. On resume the header must match (else the file
belongs to another audit and we refuse, naming the differing key); a truncated last line (the
process was killed mid-write) is dropped; runs already recorded are not run again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from privsynth.errors import InputError

FORMAT = "privsynth-dpaudit-runs/1"


class RunStore:
    """The runs of one audit; ``path=None`` keeps them in memory only."""

    def __init__(self, path: Path | None, header: dict[str, Any]) -> None:
        self.path = path
        self.header = {"format": FORMAT, **header}
        self.runs: dict[tuple[str, int], dict[str, Any]] = {}
        if path is not None and path.exists() and path.stat().st_size > 0:
            self._load(path)
        elif path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", encoding="utf-8") as fh:
                fh.write(json.dumps(self.header, sort_keys=True) + "\n")

    def _load(self, path: Path) -> None:
        lines = path.read_text(encoding="utf-8").splitlines()
        try:
            old = json.loads(lines[0])
        except (json.JSONDecodeError, IndexError) as exc:
            raise InputError(f"{path}: not a dp-audit run store (bad header line)") from exc
        expected = json.loads(json.dumps(self.header, sort_keys=True))
        diff = sorted(k for k in set(old) | set(expected) if old.get(k) != expected.get(k))
        if diff:
            raise InputError(
                f"{path} records a different audit (differs in {', '.join(diff)}); "
                "give a new --store path or delete the file"
            )
        good = 1
        for i, line in enumerate(lines[1:], start=2):
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                if i == len(lines):  # interrupted mid-write: drop it
                    break
                raise InputError(f"{path}: line {i} is not valid JSON") from None
            self.runs[(rec["world"], int(rec["run"]))] = rec
            good = i
        if good < len(lines):  # rewrite without the torn line so appends stay valid
            path.write_text("\n".join(lines[:good]) + "\n", encoding="utf-8")

    def done(self, world: str, run: int) -> bool:
        return (world, run) in self.runs

    def add(self, record: dict[str, Any]) -> None:
        self.add_many([record])

    def add_many(self, records: list[dict[str, Any]]) -> None:
        """Record finished runs (one append and flush for the lot)."""
        for record in records:
            self.runs[(record["world"], int(record["run"]))] = record
        if self.path is not None and records:
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
                fh.flush()

    def scores(self, world: str, n: int) -> list[dict[str, float]]:
        """The first ``n`` runs' scores of ``world``, by run index."""
        return [self.runs[(world, i)]["scores"] for i in range(n) if (world, i) in self.runs]
