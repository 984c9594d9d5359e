"""Run every attack on one (train, holdout, synthetic) triple."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from attacks.attribute import AttributeInferenceAttack
from attacks.base import Attack
from attacks.context import MAX_QUERY_ROWS, AuditData
from attacks.dcr import DCRAttack
from attacks.exact_match import ExactMatchAttack
from attacks.knowledge import KnowledgeConfig
from attacks.linkability import LinkabilityAttack
from attacks.membership import DensityMembershipAttack, DistanceMembershipAttack
from attacks.neighbors import DEFAULT_NPROBE, EXACT_MAX_ROWS
from attacks.results import AttackResult, AuditResult
from attacks.singling_out import SinglingOutAttack

ATTACKS: tuple[type[Attack], ...] = (
    ExactMatchAttack,
    DCRAttack,
    DistanceMembershipAttack,
    DensityMembershipAttack,
    AttributeInferenceAttack,
    SinglingOutAttack,
    LinkabilityAttack,
)
# the attacks that run once per attacker-knowledge set (attacks.knowledge)
KNOWLEDGE_ATTACKS = frozenset({"attribute", "singling_out", "linkability"})

# progress(step_name, done, total)
Progress = Callable[[str, int, int], None]


def run_audit(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    column_types: dict[str, str] | None = None,
    qi: Sequence[str] | None = None,
    secrets: Sequence[str] | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    scaling: str = "range",
    exact_max_rows: int = EXACT_MAX_ROWS,
    nprobe: int = DEFAULT_NPROBE,
    max_query_rows: int = MAX_QUERY_ROWS,
    confidence: float = 0.95,
    attack_params: dict[str, dict[str, Any]] | None = None,
    n_jobs: int | None = -1,
    knowledge: KnowledgeConfig | None = None,
) -> AuditResult:
    """The whole suite: exact matches, DCR, two membership scores, attribute inference,
    singling out and linkability.

    ``qi`` are the declared quasi-identifiers: one of the attacker-knowledge sets, beside every
    other column and the public-rule subsets of ``knowledge`` (:mod:`attacks.knowledge`).

    Bad input raises :class:`attacks.AuditInputError` (a ``ValueError``); an attack that cannot
    run is reported with status "error" and the others still run. ``attack_params`` maps an
    attack name (e.g. ``"attribute"``) to keyword arguments of its class. Tables larger than
    ``max_query_rows`` are queried through a seeded sample of that many records (distance-based
    attacks only; exact matches hash every record). ``n_jobs`` threads share the neighbour
    searches and the per-secret attribute attacks (-1: every usable CPU; 1: one thread); the
    results are the same for any value.
    """
    total = len(ATTACKS) + 1
    if progress:
        progress("prepare", 0, total)
    t0 = time.perf_counter()
    data = AuditData.prepare(
        train,
        holdout,
        synthetic,
        column_types=column_types,
        qi=qi,
        secrets=secrets,
        seed=seed,
        scaling=scaling,
        exact_max_rows=exact_max_rows,
        nprobe=nprobe,
        max_query_rows=max_query_rows,
        n_jobs=n_jobs,
    )
    prepare_s = time.perf_counter() - t0
    if progress:
        progress("prepare", 1, total)
    params = attack_params or {}
    # the widest search first, so DCR's worst-case view and both membership scores share it
    k_member = int(params.get("membership.density", {}).get("k", 5))
    data.neighbors("train_all", "synthetic", k_member)
    results: list[AttackResult] = []
    for i, cls in enumerate(ATTACKS, start=2):
        if progress:
            progress(cls.name, i - 1, total)
        try:
            extra = dict(params.get(cls.name, {}))
            if cls.name in KNOWLEDGE_ATTACKS and knowledge is not None:
                extra.setdefault("knowledge", knowledge)
            attack = cls.from_data(data, confidence=confidence, **extra)
            results.append(attack.evaluate())
        except (MemoryError, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - one attack's bug must not hide the others
            results.append(AttackResult(cls.name, "error", message=f"{type(exc).__name__}: {exc}"))
        if progress:
            progress(cls.name, i, total)
    settings = dict(data.settings)
    settings["confidence"] = confidence
    settings["knowledge"] = _knowledge_settings(knowledge or KnowledgeConfig())
    settings["prepare_seconds"] = round(prepare_s, 4)
    settings["seconds"] = round(time.perf_counter() - t0, 4)
    return AuditResult(attacks=results, settings=settings)


def _knowledge_settings(cfg: KnowledgeConfig) -> dict[str, Any]:
    return {
        "include_all": cfg.include_all,
        "subset_sizes": list(cfg.subset_sizes),
        "pair_sizes": list(cfg.pair_sizes),
        "rule": "subsets drawn by numpy default_rng seeded with the SHA-256 of the column names",
    }
