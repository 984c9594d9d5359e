"""Generator-agnostic privacy attacks on a (train, holdout, synthetic) triple.

Distance tests, membership inference, attribute inference, singling out and linkability, each
with a holdout control and a confidence interval; the last three for several attacker-knowledge
sets (:mod:`attacks.knowledge`). This package never imports privsynth's synthesizers or ledger:
it audits a synthetic table made by any tool.

    >>> from attacks import AuditConfig, run_audit
    >>> result = run_audit(train, holdout, synthetic, seed=0)   # doctest: +SKIP
    >>> result.metric("dcr.share_closer_to_train").estimate       # doctest: +SKIP
    >>> run_audit(train, holdout, synthetic, AuditConfig(confidence=0.99, n_jobs=1))  # doctest: +SKIP

Every setting lives in one frozen :class:`AuditConfig` (:mod:`attacks.config`) that the attacks
receive with the prepared data (:class:`AuditData`).
"""

from attacks.attribute import AttributeInferenceAttack
from attacks.base import Attack
from attacks.config import (
    AttributeSettings,
    AuditConfig,
    DCRSettings,
    ExactMatchSettings,
    MembershipSettings,
    NeighborSettings,
)
from attacks.context import AuditData
from attacks.dcr import DCRAttack
from attacks.errors import AttackCannotRun, AuditInputError
from attacks.exact_match import ExactMatchAttack
from attacks.geometry import infer_column_types
from attacks.knowledge import KnowledgeConfig, KnowledgePair, KnowledgeSet
from attacks.linkability import LinkabilityAttack
from attacks.membership import DensityMembershipAttack, DistanceMembershipAttack
from attacks.results import METRICS, AttackResult, AuditResult, Estimate, Metric
from attacks.singling_out import SinglingOutAttack
from attacks.suite import ATTACKS, run_audit

__all__ = [
    "ATTACKS",
    "METRICS",
    "Attack",
    "AttackCannotRun",
    "AttackResult",
    "AttributeInferenceAttack",
    "AttributeSettings",
    "AuditConfig",
    "AuditData",
    "AuditInputError",
    "AuditResult",
    "DCRAttack",
    "DCRSettings",
    "DensityMembershipAttack",
    "DistanceMembershipAttack",
    "Estimate",
    "ExactMatchAttack",
    "ExactMatchSettings",
    "KnowledgeConfig",
    "KnowledgePair",
    "KnowledgeSet",
    "LinkabilityAttack",
    "MembershipSettings",
    "Metric",
    "NeighborSettings",
    "SinglingOutAttack",
    "infer_column_types",
    "run_audit",
]
