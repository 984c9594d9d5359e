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

import os

# OpenMP threads (faiss and its BLAS, scikit-learn) that wait at a barrier sleep instead of
# spinning, unless the user chose otherwise. On a machine busy with other jobs spinning threads
# burn the cores their partner threads need: measured on 2 cores at load ~18, a 26,048 x 26,048
# faiss search with 2 threads took 5.7 s CPU / 52 s wall spinning and 3.5 s / 24 s passive. It
# must be set before the OpenMP runtime loads, so it comes before every other import here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from attacks.attribute import AttributeInferenceAttack  # noqa: E402
from attacks.base import Attack  # noqa: E402
from attacks.config import (  # noqa: E402
    AttributeSettings,
    AuditConfig,
    DCRSettings,
    ExactMatchSettings,
    MembershipSettings,
    NeighborSettings,
)
from attacks.context import AuditData  # noqa: E402
from attacks.dcr import DCRAttack  # noqa: E402
from attacks.errors import AttackCannotRun, AuditInputError  # noqa: E402
from attacks.exact_match import ExactMatchAttack  # noqa: E402
from attacks.geometry import infer_column_types  # noqa: E402
from attacks.knowledge import KnowledgeConfig, KnowledgePair, KnowledgeSet  # noqa: E402
from attacks.linkability import LinkabilityAttack  # noqa: E402
from attacks.membership import DensityMembershipAttack, DistanceMembershipAttack  # noqa: E402
from attacks.results import METRICS, AttackResult, AuditResult, Estimate, Metric  # noqa: E402
from attacks.singling_out import SinglingOutAttack  # noqa: E402
from attacks.suite import ATTACKS, AUDIT_STEPS, run_audit  # noqa: E402

__all__ = [
    "ATTACKS",
    "AUDIT_STEPS",
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
