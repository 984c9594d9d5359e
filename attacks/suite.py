"""Run every attack on one (train, holdout, synthetic) triple."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from attacks.attribute import AttributeInferenceAttack
from attacks.attribute_match import MatchInferenceAttack
from attacks.base import Attack
from attacks.config import AuditConfig
from attacks.context import AuditData
from attacks.dcr import DCRAttack
from attacks.exact_match import ExactMatchAttack
from attacks.knowledge import KnowledgeConfig
from attacks.linkability import LinkabilityAttack
from attacks.membership import DensityMembershipAttack, DistanceMembershipAttack
from attacks.results import AttackResult, AuditResult
from attacks.singling_out import SinglingOutAttack
from attacks.subgroup import SubgroupAttack

ATTACKS: tuple[type[Attack], ...] = (
    ExactMatchAttack,
    DCRAttack,
    DistanceMembershipAttack,
    DensityMembershipAttack,
    AttributeInferenceAttack,
    SinglingOutAttack,
    LinkabilityAttack,
    MatchInferenceAttack,  # attacks/attribute_match.py (h-power2)
    SubgroupAttack,  # attacks/subgroup.py (h-power2)
)
# progress steps of run_audit: preparation, the shared neighbour searches, then each attack
AUDIT_STEPS = len(ATTACKS) + 2
# the attacks that run once per attacker-knowledge set (config.knowledge, attacks.knowledge)
KNOWLEDGE_ATTACKS = frozenset({"attribute", "singling_out", "linkability", "attribute_match"})

# progress(step_name, done, total)
Progress = Callable[[str, int, int], None]


def run_audit(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    config: AuditConfig | None = None,
    *,
    column_types: dict[str, str] | None = None,
    qi: Sequence[str] | None = None,
    secrets: Sequence[str] | None = None,
    seed: int | None = None,
    n_jobs: int | None = None,
    progress: Progress | None = None,
) -> AuditResult:
    """The whole suite: exact matches, DCR, two membership scores, attribute inference,
    singling out and linkability.

    ``column_types``, ``qi`` (the declared quasi-identifiers: one of the attacker-knowledge
    sets, beside every other column and the public-rule subsets of ``config.knowledge``) and
    ``secrets`` describe the data; ``config`` (:class:`attacks.config.AuditConfig`, default
    ``AuditConfig()``) says how to audit it. ``seed`` and ``n_jobs`` are shortcuts that replace
    the config's fields when given (``n_jobs`` threads; results are the same for any value).

    Bad input, including an invalid config, raises :class:`attacks.AuditInputError` (a
    ``ValueError``); an attack that cannot run is reported with status "error" and the others
    still run. ``progress(step, done, total)`` is called before and after each step.
    """
    total = AUDIT_STEPS
    if progress:
        progress("prepare", 0, total)
    t0 = time.perf_counter()
    data = AuditData.prepare(
        train,
        holdout,
        synthetic,
        config,
        column_types=column_types,
        qi=qi,
        secrets=secrets,
        seed=seed,
        n_jobs=n_jobs,
    )
    prepare_s = time.perf_counter() - t0
    if progress:
        progress("prepare", 1, total)
    search_s = _shared_searches(data, progress, total)
    results = [_evaluate(cls, data, progress, i, total) for i, cls in enumerate(ATTACKS, start=3)]
    settings = dict(data.settings)
    settings["confidence"] = data.config.confidence
    settings["knowledge"] = _knowledge_settings(data.config.knowledge)
    settings["prepare_seconds"] = round(prepare_s, 4)
    settings["search_seconds"] = round(search_s, 4)
    settings["seconds"] = round(time.perf_counter() - t0, 4)
    return AuditResult(attacks=results, settings=settings)


def _shared_searches(data: AuditData, progress: Progress | None, total: int) -> float:
    """The distance searches the attacks share, first and timed as their own step (so no
    attack's time carries them): fused where possible, else the widest search, so that DCR's
    worst-case view and both membership scores share it. Returns the seconds spent."""
    if progress:
        progress("neighbour search", 1, total)
    t0 = time.perf_counter()
    cfg = data.config
    data.fuse_distance_searches()
    data.neighbors(
        "train_all", "synthetic", max(cfg.membership_distance.k, cfg.membership_density.k)
    )
    if progress:
        progress("neighbour search", 2, total)
    return time.perf_counter() - t0


def _evaluate(
    cls: type[Attack], data: AuditData, progress: Progress | None, step: int, total: int
) -> AttackResult:
    """One attack; its failure becomes an "error" result so the others still run."""
    if progress:
        progress(cls.name, step - 1, total)
    try:
        result = cls.from_data(data).evaluate()
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - one attack's bug must not hide the others
        result = AttackResult(cls.name, "error", message=f"{type(exc).__name__}: {exc}")
    if progress:
        progress(cls.name, step, total)
    return result


def _knowledge_settings(cfg: KnowledgeConfig) -> dict[str, Any]:
    return {
        "include_all": cfg.include_all,
        "subset_sizes": list(cfg.subset_sizes),
        "pair_sizes": list(cfg.pair_sizes),
        "rule": "subsets drawn by numpy default_rng seeded with the SHA-256 of the column names",
    }
