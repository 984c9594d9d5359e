"""The distinguishing game: run the generator many times on ``D`` and on ``D + x``, score each output.

Neighbours are add/remove-one-record (docs/privacy.md): "out" runs get the base table ``D``, "in"
runs get ``D`` plus the canary ``x`` as one extra row (appended; the synthesizers do not depend on
row order, and an external generator sees the same file plus one line). Each run gets a fresh,
independent noise seed drawn from ``SeedSequence([seed, world, run])``; runs alternate out/in so an
interrupted audit is balanced, and each finished run is appended to the store at once.

Runs execute in up to ``jobs`` worker processes (each run is independent; results do not depend
on ``jobs``). The score distributions go to ``bounds.game_bounds``.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from privsynth.domain import Domain
from privsynth.dpaudit import scores as scoring
from privsynth.dpaudit.canaries import Canary
from privsynth.dpaudit.generators import GeneratorSpec, decode_fixed, fit_privsynth, run_command
from privsynth.dpaudit.store import RunStore
from privsynth.errors import InputError
from privsynth.progress import QUIET, Progress
from privsynth.schema import Schema

WORLDS = ("out", "in")
MAX_JOBS = 2
BATCH_SECONDS = 0.5


@dataclass(frozen=True, kw_only=True)
class AuditConfig:
    """How many runs, which scores, what confidence; validated on construction."""

    runs: int = 200  # per world
    scores: tuple[str, ...] = scoring.ALL
    confidence: float = 0.95
    jobs: int = 1
    seed: int = 0
    select_fraction: float = 0.5  # share of each world's runs used to choose the test

    def __post_init__(self) -> None:
        if isinstance(self.runs, bool) or not isinstance(self.runs, int) or self.runs < 8:
            raise InputError(f"--runs must be an integer >= 8 (per world), got {self.runs!r}")
        bad = [s for s in self.scores if s not in scoring.ALL]
        if bad or not self.scores:
            raise InputError(f"unknown scores {bad}; choose from {', '.join(scoring.ALL)}")
        if not 0.5 <= self.confidence < 1:
            raise InputError(f"--confidence must be in [0.5, 1), got {self.confidence}")
        if not isinstance(self.jobs, int) or not 1 <= self.jobs <= MAX_JOBS:
            raise InputError(f"--jobs must be 1 or {MAX_JOBS}, got {self.jobs!r}")
        if not 0.1 <= self.select_fraction <= 0.9:
            raise InputError(f"--select-fraction must be in [0.1, 0.9], got {self.select_fraction}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise InputError(f"--seed must be a non-negative integer, got {self.seed!r}")


@dataclass(frozen=True)
class Game:
    """Everything a run needs: the generator, the base codes, the canary and the public schema."""

    spec: GeneratorSpec
    base: np.ndarray
    domain: Domain
    canary: Canary
    schema: Schema | None
    scores: tuple[str, ...]
    workdir: str


def run_seed(seed: int, world: str, run: int) -> int:
    """The run's fresh noise seed (independent across runs and worlds)."""
    ss = np.random.SeedSequence([seed, WORLDS.index(world), run])
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


_GAME: Game | None = None
_TABLES: dict[str, pd.DataFrame] = {}


def _install(game: Game) -> None:
    global _GAME
    _GAME = game
    _TABLES.clear()


def _table(game: Game, world: str) -> pd.DataFrame:
    """The decoded base (and base + canary) for an external generator, built once per process."""
    if world not in _TABLES:
        assert game.schema is not None
        base = decode_fixed(game.base, game.schema)
        if world == "in":
            base = pd.concat([base, decode_fixed(game.canary.array()[None, :], game.schema)])
        _TABLES[world] = base.reset_index(drop=True)
    return _TABLES[world]


def play_one(world: str, run: int, seed: int) -> dict[str, Any]:
    """One run of the game in this process: generate, then score."""
    game = _GAME
    assert game is not None
    x = game.canary.array()
    codes = game.base if world == "out" else np.vstack([game.base, x[None, :]])
    t0 = time.perf_counter()
    if game.spec.method is not None:
        noise_seed = None if game.spec.noise == "opendp" else seed
        sample = any(s in scoring.BLACK_BOX for s in game.scores)
        output = fit_privsynth(game.spec, codes, game.domain, noise_seed, sample=sample)
    else:
        assert game.schema is not None
        wd = Path(game.workdir) / f"{os.getpid()}"
        output = run_command(game.spec, _table(game, world), game.schema, seed, wd)
    s = scoring.score_all(game.scores, output.codes, x, output.fitted, game.base)
    return {
        "world": world,
        "run": run,
        "seed": seed,
        "scores": s,
        "seconds": round(time.perf_counter() - t0, 4),
        "rows": int(output.codes.shape[0]),
    }


def _todo(store: RunStore, config: AuditConfig) -> Iterator[tuple[str, int, int]]:
    for i in range(config.runs):
        for world in WORLDS:
            if not store.done(world, i):
                yield world, i, run_seed(config.seed, world, i)


def play_batch(jobs: list[tuple[str, int, int]]) -> list[dict[str, Any]]:
    """Several runs in one worker call (fewer round trips when a run takes milliseconds)."""
    return [play_one(*job) for job in jobs]


def _batches(todo: list[tuple[str, int, int]], size: int) -> Iterator[list[tuple[str, int, int]]]:
    for s in range(0, len(todo), size):
        yield todo[s : s + size]


def play(game: Game, config: AuditConfig, store: RunStore, progress: Progress = QUIET) -> None:
    """Run every missing run of the game (in ``config.jobs`` processes) into ``store``.

    Runs go to the workers in batches (``BATCH_SECONDS`` of work each, after timing the first
    run), so cheap runs are not dominated by inter-process overhead.
    """
    todo = list(_todo(store, config))
    with progress.task("dp-audit runs", total=2 * config.runs) as advance:
        advance(2 * config.runs - len(todo))
        if not todo:
            return
        _install(game)
        first = play_one(*todo[0])
        store.add(first)
        advance()
        todo = todo[1:]
        if config.jobs == 1 or len(todo) < 4:
            for world, i, seed in todo:
                store.add(play_one(world, i, seed))
                advance()
            return
        size = int(min(max(BATCH_SECONDS / max(first["seconds"], 1e-4), 1), 500))
        with ProcessPoolExecutor(config.jobs, initializer=_install, initargs=(game,)) as pool:
            it = _batches(todo, size)
            pending = {pool.submit(play_batch, b) for b in itertools.islice(it, 3 * config.jobs)}
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    batch = f.result()
                    store.add_many(batch)
                    advance(len(batch))
                    nxt = next(it, None)
                    if nxt is not None:
                        pending.add(pool.submit(play_batch, nxt))


def score_arrays(store: RunStore, config: AuditConfig) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{score: (out scores, in scores)}`` by run index, for scores present in every run."""
    out, inn = store.scores("out", config.runs), store.scores("in", config.runs)
    names = [s for s in config.scores if all(s in r for r in out + inn)]
    return {s: (np.array([r[s] for r in out]), np.array([r[s] for r in inn])) for s in names}


def new_workdir() -> str:
    return tempfile.mkdtemp(prefix="privsynth-dpaudit-")
