"""A realistic hand-made :class:`AuditResult` (for tests, docs and trying the renderers offline)."""

from __future__ import annotations

import numpy as np

from attacks.results import AttackResult, AuditResult, Estimate, Metric


def _m(name: str, v: float, lo: float, hi: float, null: float, riskier: bool = True) -> Metric:
    return Metric(name, Estimate(v, lo, hi, 0.95, "wilson"), f"example {name}", null, riskier)


def example_audit(leaky: bool = False, errored: str | None = None, seed: int = 0) -> AuditResult:
    """Numbers shaped like a real audit of Adult (clean DP synthetic data, or a copy of train)."""
    rng = np.random.default_rng(seed)
    attacks = [_exact_match(leaky), _dcr(leaky, rng)]
    attacks += [_membership(kind, leaky, errored) for kind in ("distance", "density")]
    attacks.append(_attribute(leaky))
    attacks += _knowledge_attacks(leaky)
    attacks += _match_and_subgroup(leaky)
    settings = {
        "seed": 12345,
        "n_train": 26049,
        "n_holdout": 6512,
        "n_synthetic": 26049,
        "n_used": 6512,
    }
    return AuditResult(attacks=attacks, settings=settings)


def _exact_match(leaky: bool) -> AttackResult:
    def pick(copy: float, clean: float) -> float:
        return copy if leaky else clean

    metrics = [
        _m("exact_match.train_rate", pick(0.9, 0.0), pick(0.89, 0.0), pick(0.91, 0.0005), 0.0),
        _m("exact_match.holdout_rate", 0.0, 0.0, 0.0005, 0.0),
        _m("exact_match.excess", pick(0.9, 0.0), pick(0.89, -0.0005), pick(0.91, 0.0005), 0.0),
        _m(
            "exact_match.near_copy_excess",
            pick(0.9, 0.0),
            pick(0.89, -0.001),
            pick(0.91, 0.001),
            0.0,
        ),
        _m(
            "exact_match.partial_copy_excess",
            pick(0.9, 0.005),
            pick(0.89, -0.006),
            pick(0.91, 0.02),
            0.0,
        ),
        _m(
            "exact_match.isolated_copy_excess",
            pick(0.45, 0.0003),
            pick(0.44, -0.0008),
            pick(0.46, 0.0013),
            0.0,
        ),
    ]
    details = {"copied_training_rows": [3, 17, 42] if leaky else []}
    return AttackResult("exact_match", "ok", metrics, details=details)


def _dcr(leaky: bool, rng: np.random.Generator) -> AttackResult:
    d = 0.4 if leaky else 0.0
    edges = np.linspace(0, 2, 21).tolist()
    holdout = rng.multinomial(6000, np.bincount(rng.integers(2, 12, 5000), minlength=20) / 5000)
    train = holdout.copy()
    if leaky:
        train = np.zeros(20, int)
        train[0], train[1], train[2] = 5900, 97, 3
    metrics = [
        _m("dcr.excess", d / 2, d / 2 - 0.01, d / 2 + 0.01, 0.0),
        _m("dcr.share_closer_to_train", 0.8 + d / 2, 0.79 + d / 2, 0.81 + d / 2, 0.8),
        _m("dcr.nndr_ratio", 1.0 - d, 0.97 - d, 1.03 - d, 1.0, riskier=False),
        _m("dcr.tolerant_copy_excess", d / 4, d / 4 - 0.004, d / 4 + 0.004, 0.0),
    ]
    details = {
        "histogram": {"edges": edges, "train": train.tolist(), "holdout": holdout.tolist()},
        "closest": [{"train_row": 5, "synthetic_row": 9, "distance": 0.0, "holdout_distance": 0.2}],
    }
    return AttackResult("dcr", "ok", metrics, details=details)


def _membership(kind: str, leaky: bool, errored: str | None) -> AttackResult:
    name = f"membership.{kind}"
    if errored == name:
        return AttackResult(name, "error", message="could not fit the density model")
    d = 0.4 if leaky else 0.0
    fpr = np.linspace(0, 1, 51)
    tpr = np.clip(fpr ** (0.3 if leaky else 1.0), 0, 1)
    metrics = [
        _m(f"{name}.auc", 0.5 + d, 0.49 + d, 0.51 + d, 0.5),
        _m(f"{name}.advantage", d, d - 0.02, d + 0.02, 0.0),
        _m(f"{name}.tpr_at_fpr_1pct", 0.01 + d / 2, 0.008 + d / 2, 0.013 + d / 2, 0.01),
        # a clean audit at 6,512 holdout records (supported: benchmarks/lowfpr_threshold.py)
        _m(f"{name}.tpr_at_fpr_0.1pct", 0.0004 + d / 2, 0.0001 + d / 2, 0.0012 + d / 2, 0.001),
    ]
    details = {
        "roc": {"fpr": fpr.tolist(), "tpr": tpr.tolist()},
        "vulnerable": [{"row": 7, "score": 0.9}, {"row": 11, "score": 0.8}],
    }
    return AttackResult(name, "ok", metrics, details=details)


def _attribute(leaky: bool) -> AttackResult:
    d = 0.4 if leaky else 0.0
    cols = ["age", "education", "marital-status", "income"]
    risks = [
        _m(f"attribute.{c}.risk", r, r - 0.04, r + 0.04, 0.0)
        for c, r in zip(cols, [0.02 + d, 0.01, -0.01, 0.03], strict=True)
    ]
    best = max(risks, key=lambda m: m.estimate.value)
    e = best.estimate
    risks.append(_m("attribute.max_risk", e.value, e.ci_low, e.ci_high, 0.0))
    excess = [
        _m(f"attribute.{c}.excess", x, x - 0.03, x + 0.03, 0.0)
        for c, x in zip(cols, [0.01 + d, 0.005, -0.004, 0.012], strict=True)
    ]
    excess.append(
        _m(
            "attribute.max_excess",
            max(m.estimate.value for m in excess),
            max(m.estimate.ci_low for m in excess),
            max(m.estimate.ci_high for m in excess),
            0.0,
        )
    )
    rare = 0.02 + 2 * d  # the rare-class family (attacks/attribute.py), gated by the presets
    excess.append(_m("attribute.rare_class.max_excess", rare, rare - 0.08, rare + 0.08, 0.0))
    return AttackResult("attribute", "ok", risks + excess, details={"columns": {}})


def _knowledge_attacks(leaky: bool) -> list[AttackResult]:
    """Singling out and linkability shaped like Adult (a copy of train singles out and links
    the ~60% of records unique on every column)."""
    out = []
    for attack, sets in (("singling_out", ("all", "subset-1")), ("linkability", ("halves",))):
        e = 0.6 if leaky else 0.0
        info = {
            name: {
                "columns": ["age", "sex"] if name != "all" else ["age", "sex", "race"],
                "right": ["income"] if attack == "linkability" else [],
                "rule": "example",
                "attack": e,
                "control": 0.0,
                "excess": e if i == 0 else 0.0,
                "ci_low": e - 0.01 if i == 0 else -0.004,
                "ci_high": e + 0.01 if i == 0 else 0.004,
            }
            for i, name in enumerate(sets)
        }
        key = "knowledge" if attack == "singling_out" else "pairs"
        metrics = [
            _m(
                f"{attack}.max_excess",
                e,
                e - 0.01 if leaky else -0.004,
                e + 0.01 if leaky else 0.002,
                0.0,
            )
        ]
        if attack == "singling_out":  # the declared QIs plus one column (attacks/knowledge.py)
            metrics.append(
                _m(
                    "singling_out.plus_one.max_excess",
                    e,
                    e - 0.01 if leaky else -0.002,
                    e + 0.01 if leaky else 0.0025,
                    0.0,
                )
            )
        out.append(
            AttackResult(
                attack,
                "ok",
                metrics,
                details={
                    key: info,
                    "worst_knowledge": sets[0],
                    "exposed": [{"row": 3}, {"row": 17}] if leaky else [],
                },
            )
        )
    return out


def _match_and_subgroup(leaky: bool) -> list[AttackResult]:
    """Exact-match inference and subgroups shaped like Adult (attacks/attribute_match.py,
    attacks/subgroup.py): a copy of train discloses every unique record and every class."""
    u, c, a = (0.6, 0.9, 1.0) if leaky else (0.002, 0.11, 0.56)
    match = AttackResult(
        "attribute_match",
        "ok",
        [
            _m("attribute_match.unique.max_excess", u, u - 0.005, u + 0.008, 0.0),
            _m("attribute_match.class.max_excess", c, c - 0.1 if leaky else -0.004, c + 0.1, 0.0),
        ],
        details={"knowledge": {}, "worst_knowledge": "declared"},
    )
    row = {"column": "native-country", "level": "Mexico", "n_train": 250, "n_holdout": 64}
    group = AttackResult(
        "subgroup",
        "ok",
        [_m("subgroup.max_auc", a, 0.98 if leaky else 0.48, 1.0 if leaky else 0.69, 0.5)],
        details={"subgroups": [{**row, "auc": a, "ci_low": 0.48, "ci_high": 0.69}]},
    )
    return [match, group]
