"""``audit_for_report``: the release report's dp-audit section reads the public domain only."""

from __future__ import annotations

import inspect

import numpy as np

from privsynth.domain import Domain
from privsynth.dpaudit import audit as audit_mod
from privsynth.dpaudit.audit import audit_for_report
from privsynth.dpaudit.canaries import public_base
from privsynth.dpaudit.report import SECTION_FORMAT

DOM = Domain(("a", "b", "c"), (3, 4, 2))


def test_signature_is_keyword_only_and_takes_no_table() -> None:
    params = inspect.signature(audit_for_report).parameters
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())
    assert set(params) == {
        "method", "epsilon", "delta", "domain", "runs", "canary", "rows", "jobs", "progress",
    }  # fmt: skip
    assert not {"data", "table", "codes", "base_codes"} & set(params)


def test_public_base_is_a_function_of_the_domain_alone() -> None:
    a, b = public_base(DOM, 50), public_base(Domain(("x", "y", "z"), (3, 4, 2)), 50)
    assert np.array_equal(a, b)  # names and values play no part, only the sizes
    counts = [np.bincount(a[:, j], minlength=s) for j, s in enumerate(DOM.shape)]
    assert all(c.min() >= 50 // s for c, s in zip(counts, DOM.shape, strict=True))


def test_the_audit_runs_on_the_public_base(monkeypatch) -> None:
    seen = {}
    real = audit_mod.run_audit

    def spy(spec, base_codes, domain, **kw):
        seen["base"] = np.asarray(base_codes).copy()
        return real(spec, base_codes, domain, **kw)

    monkeypatch.setattr(audit_mod, "run_audit", spy)
    section = audit_for_report(method="independent", epsilon=1.0, delta=1e-5, domain=DOM, runs=8)
    assert np.array_equal(seen["base"], public_base(DOM))
    assert section["format"] == SECTION_FORMAT and section["base"].startswith("public")
    assert section["verdict"] == "consistent" and section["claim"]["epsilon"] == 1.0
    assert section["canary"]["kind"] == "empty-cell" and "run_scores" not in section
    assert section["epsilon_test"]["method"] in ("clopper-pearson", "conditional")
    assert 0.0 <= section["tightness"]["epsilon"] <= 1.0
