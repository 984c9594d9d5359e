"""What ``certify`` writes: OpenDP noise, no seed anywhere unless given, no input hash and no exact
row count in any file marked publishable (the issue's acceptance run, on the bundled Adult)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from privsynth.cli import commands  # noqa: F401  (registers the commands)
from privsynth.cli.app import app
from privsynth.io import EXAMPLE_SCHEMA, EXAMPLE_TABLE, example_path, sha256_file
from reports.fidelity import FIT_RULES

runner = CliRunner()
RANDOM_SEED = 1618033988  # what the patched secrets.randbits returns: must appear nowhere
PUBLISHABLE = ("synthetic.csv", "synthetic.csv.manifest.json", "datasheet.md")
REPORTS = ("report.json", "report.html", "report.md", "report.junit.xml", "report.txt")

pytestmark = pytest.mark.slow  # whole certify runs; CI runs them, the fast tier does not


def _no_seeded_noise(*args: object, **kwargs: object) -> None:
    raise AssertionError("a certify run drew seeded numpy noise")


def _certify(
    monkeypatch, out: Path, *extra: str, data: Path | None = None, quiet: bool = True
) -> object:
    monkeypatch.setattr(
        "privsynth.workflows.certification._secrets.randbits", lambda k: RANDOM_SEED
    )
    monkeypatch.setattr("privsynth.privacy.noise.sample_discrete_gaussian", _no_seeded_noise)
    source = ["--example"] if data is None else [str(data), "-s", str(example_path(EXAMPLE_SCHEMA))]
    args = ["certify", *source, "--epsilon", "1", "-m", "independent", "--out", str(out)]
    return runner.invoke(app, [*args, *(["-q"] if quiet else []), *extra])


@pytest.fixture(scope="module")
def small(adult, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "adult-small.csv"
    adult.sample(3000, random_state=5).to_csv(path, index=False)
    return path


def _record(out: Path) -> Path:
    """The private run record of ``certify --out D``: beside D, never inside it."""
    return out.parent / f"{out.name}.run-record.private.json"


def _has_number(text: str, n: int) -> bool:
    return re.search(rf"(?<![\d.]){n}(?:\.0)?(?![\d.])", text) is not None


@pytest.fixture(scope="module")
def public(small, tmp_path_factory) -> Path:
    mp = pytest.MonkeyPatch()
    out = tmp_path_factory.mktemp("cert") / "D"
    result = _certify(mp, out, "--audience", "public", data=small, quiet=False)
    mp.undo()
    assert result.exit_code in (0, 1, 3) and (out / "report.json").is_file(), result.output
    (out.parent / "terminal.txt").write_text(result.output)  # what a CI log of the run keeps
    return out


def publishable_files(out: Path) -> list[str]:
    """The files the folder's README.md lists as publishable."""
    section = (out / "README.md").read_text().split("## Publishable")[1].split("## Private")[0]
    return sorted(set(re.findall(r"`([^`]+\.(?:csv|json|md|html|xml|txt))`", section)))


def private_counts(out: Path, n_rows: int) -> set[int]:
    """Exact counts of the private tables (a DP row count that happens to equal one is fine)."""
    split = json.loads(_record(out).read_text())["certify"]
    manifest = json.loads((out / "synthetic.csv.manifest.json").read_text())
    return {n_rows, split["train_rows"], split["holdout_rows"]} - {manifest["output"]["rows"]}


def check_release_folder(out: Path, data: Path, n_rows: int) -> None:
    """The issue's acceptance check of a certify folder made without --seed (module docstring)."""
    record = json.loads(_record(out).read_text())
    sha = sha256_file(data)
    assert record["input"]["sha256"] == sha and record["seeds"] == {
        "seed": None,
        "noise_seed": None,
    }
    split = record["certify"]
    assert split["split_seed"] is None and record["input"]["rows"] == n_rows
    manifest = json.loads((out / "synthetic.csv.manifest.json").read_text())
    assert manifest["privacy"]["noise"] == {"source": "OpenDP samplers", "release": True}
    assert manifest["publishable"] is True and manifest["release_id"] == record["release_id"]
    counts = private_counts(out, n_rows)
    publishable = publishable_files(out)
    assert {*PUBLISHABLE} <= set(publishable)
    assert not any("run-record" in name for name in publishable)
    for path in sorted(p for p in out.iterdir() if p.is_file()):
        text = path.read_text(errors="replace")
        assert not _has_number(text, RANDOM_SEED), path.name  # no file at all has the seed
        assert sha not in text, path.name  # nor the input's hash: it lives beside D only
        if path.name not in publishable:
            continue
        if path.name == "synthetic.csv":  # its cells are values (fnlwgt spans every count)
            continue
        for n in counts:
            assert not _has_number(text, n), (path.name, n)


def test_public_run_files_carry_no_seed_hash_or_exact_count(public: Path, small: Path) -> None:
    check_release_folder(public, small, 3000)
    assert set(publishable_files(public)) == {*PUBLISHABLE, *REPORTS}
    assert {p.name for p in public.iterdir()} == {
        *PUBLISHABLE,
        *REPORTS,
        "README.md",
    }
    assert _record(public).is_file()  # the private run record lies beside the folder
    terminal = (public.parent / "terminal.txt").read_text()
    assert "split:" in terminal  # the progress notes were printed
    for n in private_counts(public, 3000):  # nor does the terminal (a CI log) of a public run
        assert not _has_number(terminal, n), n
    # nor a run time: it grows with the private tables' sizes and contents
    timed = re.findall(r'"(\w*seconds)": ([^,}\]]+)', (public / "report.json").read_text())
    assert timed and all(value.strip() == "null" for _, value in timed), timed


@pytest.mark.slow
def test_acceptance_certify_example_epsilon_1(monkeypatch, tmp_path: Path) -> None:
    """``privsynth certify --example --epsilon 1 --out D`` exactly (AIM on the bundled Adult)."""
    monkeypatch.setattr(
        "privsynth.workflows.certification._secrets.randbits", lambda k: RANDOM_SEED
    )
    monkeypatch.setattr("privsynth.privacy.noise.sample_discrete_gaussian", _no_seeded_noise)
    out = tmp_path / "D"
    result = runner.invoke(app, ["certify", "--example", "--epsilon", "1", "--out", str(out)])
    assert (out / "report.json").is_file(), result.output
    check_release_folder(out, example_path(EXAMPLE_TABLE), 32561)
    assert publishable_files(out) == sorted(PUBLISHABLE)  # the internal report stays private


def test_datasheet_prints_no_figure_of_the_private_tables(public: Path) -> None:
    """Only public thresholds and synthetic-table figures: no attack bound, no utility score."""
    report = json.loads((public / "report.json").read_text())
    sheet = (public / "datasheet.md").read_text()
    figures = []
    for check in report["checks"]:
        estimate = check.get("estimate") or {}
        figures += [check.get("observed"), estimate.get("ci_low"), estimate.get("ci_high")]
    ml = (report.get("utility") or {}).get("ml") or {}
    figures += [ml.get("tstr"), ml.get("trtr")]
    printed = [f for f in figures if isinstance(f, float) and f != 0]
    assert len(printed) >= 10  # the report has the figures; the datasheet must not
    public = {f"{c['threshold']:.4g}" for c in report["checks"]}  # thresholds are printed
    public |= {f"{rule[2]:.4g}" for rule in FIT_RULES}  # and the fitness-for-use rules
    for f in printed:
        for digits in (3, 4):
            text = f"{f:.{digits}g}"
            if text in public:
                continue  # equal to a public threshold as printed: it reveals nothing more
            # a whole number in the text, not a prefix of a longer one (0.002 in 0.0025)
            assert not re.search(rf"(?<![\d.]){re.escape(text)}(?![\d])", sheet), f
    for check in report["checks"]:
        assert f"`{check['id']}`: {check['status']} (needs " in sheet


def test_readme_says_what_may_be_published(public: Path) -> None:
    readme = (public / "README.md").read_text()
    publishable, private = readme.split("## Private")
    for name in (*PUBLISHABLE, *REPORTS):
        assert f"`{name}`" in publishable
    assert f"`../{_record(public).name}`" in private
    assert "WITHOUT differential privacy" in publishable  # the audit is disclosed as non-DP


def test_internal_run_writes_no_seed_it_was_not_given(monkeypatch, tmp_path, small) -> None:
    out = tmp_path / "D"
    result = _certify(monkeypatch, out, data=small)
    assert (out / "report.json").is_file(), result.output
    for path in out.iterdir():
        assert not _has_number(path.read_text(errors="replace"), RANDOM_SEED), path.name
    report = json.loads((out / "report.json").read_text())
    assert report["provenance"]["seed"] is None and "seed" not in report["provenance"]["settings"]
    readme = (out / "README.md").read_text()
    assert "report.json" in readme.split("## Private")[1]  # the internal report stays private


def test_a_given_seed_goes_only_to_the_private_files(monkeypatch, tmp_path, small) -> None:
    out = tmp_path / "D"
    result = _certify(monkeypatch, out, "--seed", "987654321", "--audience", "public", data=small)
    assert (out / "report.json").is_file(), result.output
    record = json.loads(_record(out).read_text())
    assert record["certify"]["split_seed"] == 987654321 and record["seeds"]["seed"] == 987654321
    for name in (*PUBLISHABLE, *REPORTS, "README.md"):
        assert not _has_number((out / name).read_text(errors="replace"), 987654321), name


def test_public_plots_reveal_no_table_size(public: Path) -> None:
    """Histogram bars are shares (not counts summing to the holdout size); ROC curves are read on
    a fixed FPR grid (their steps would be 1/n of the private non-member count)."""
    plots = json.loads((public / "report.json").read_text())["plots"]
    hist = plots["dcr_histogram"]
    for side in ("train", "holdout"):
        assert all(0.0 <= v <= 1.0 for v in hist[side]) and sum(hist[side]) <= 1.01
    assert plots["roc"], "the public report still shows the ROC curves"
    for curve in plots["roc"].values():
        assert curve["fpr"] == [i / 50 for i in range(51)]
