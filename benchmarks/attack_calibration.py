"""Attribute-inference calibration on Adult: DP synthetic tables vs a copy of the training data.

Run: python benchmarks/attack_calibration.py copy,independent,mst,aim
Prints attribute.max_risk and attribute.max_excess (estimate and simultaneous interval) for an
80/20 split with seeds 1 and 2, epsilon 1; docs/report.md records the figures.
"""

import sys
import time

from attacks import run_audit
from privsynth.io import example_path, read_table
from privsynth.schema import load_schema
from privsynth.synthesizers import get_synthesizer

df = read_table(example_path("adult.csv.gz"))
schema = load_schema(example_path("adult-schema.json"))
methods = sys.argv[1].split(",")
for seed in (1, 2):
    d = df.sample(frac=1, random_state=seed).reset_index(drop=True)
    n_ho = int(0.2 * len(d))
    ho, tr = d.iloc[:n_ho], d.iloc[n_ho:]
    for m in methods:
        t = time.time()
        syn = (
            tr if m == "copy" else get_synthesizer(m)(epsilon=1, seed=seed).fit(tr, schema).sample()
        )
        r = run_audit(tr, ho, syn, seed=seed)
        out = []
        for name in ("attribute.max_risk", "attribute.max_excess"):
            e = r.metric(name).estimate
            out.append(f"{name} {e.value:.3f} [{e.ci_low:.3f}, {e.ci_high:.3f}]")
        print(seed, m, " | ".join(out), f"{time.time() - t:.0f}s", flush=True)
