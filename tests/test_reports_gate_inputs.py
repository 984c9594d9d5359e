"""reports.gate.GateInputs: one frozen input object for make_report / gate_audit."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from reports import GateInputs, gate_audit, make_report
from reports.examples import example_audit


def test_inputs_are_frozen_and_validated() -> None:
    inp = GateInputs(seed=3, extra_inputs=[{"role": "data"}], subgroups=["sex"])
    assert inp.extra_inputs == ({"role": "data"},) and inp.subgroups == ("sex",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        inp.seed = 4  # type: ignore[misc]
    with pytest.raises(ValueError, match="audience"):
        GateInputs(audience="everyone")
    with pytest.raises(ValueError, match="min_count"):
        GateInputs(min_count=0)
    with pytest.raises(TypeError, match="DataFrame"):
        GateInputs(train=[1, 2, 3])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="positional"):
        GateInputs(None)  # type: ignore[misc]


def test_object_and_keywords_give_the_same_report(tmp_path) -> None:
    audit = example_audit(leaky=True)
    frame = pd.DataFrame({"a": [1, 2, 3]})
    inp = GateInputs(train=frame, seed=7, audience="public", command="privsynth audit")
    a = make_report(audit, "standard", inp)
    b = make_report(audit, "standard", train=frame, seed=7, audience="public", command="x")
    assert a.verdict == b.verdict == "FAIL" and a.audience == "public"
    assert [c.status for c in a.checks] == [c.status for c in b.checks]
    assert [i["role"] for i in a.provenance.inputs] == ["train"]
    with pytest.raises(TypeError, match="not both"):
        make_report(audit, "standard", inp, seed=1)
    assert gate_audit(audit, "standard", tmp_path, inp) == 1
    assert (tmp_path / "report.json").is_file()
