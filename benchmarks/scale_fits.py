"""Record and replay AIM's model fits on a large table (companion of scale_profile.py).

``record``: one seeded AIM run (DuckDB engine, epsilon 1, ``noise_seed`` given: NOT a release) with
``privsynth.model.estimation.estimate`` wrapped, so every fit's inputs (the measurements, the
total, the iterations asked) and its CPU seconds and ``fit_info`` are written to a pickle. The fits
are post-processing of the noisy measurements, so replaying them needs no data.

``replay``: refit the recorded calls in order, each warm-started from the previous replayed model
(as AIM does), with the estimator of this checkout, and print per-kind CPU seconds, iterations and
the final fit's loss (a lower loss is the better fit of the same measurements: the objective is
convex in the marginals)::

    python benchmarks/scale_fits.py record .scale-data/adult_2000000.parquet fits.pkl --noise-seed 0
    python benchmarks/scale_fits.py replay fits.pkl
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCHEMA = HERE.parent / "privsynth" / "data" / "adult-schema.json"


def record(data: str, out: Path, noise_seed: int, epsilon: float) -> None:
    import privsynth.synthesizers.graphical as graphical
    from privsynth.engines import encode_table
    from privsynth.schema import load_schema
    from privsynth.synthesizers import get_synthesizer

    calls: list[dict] = []
    inner = graphical.estimate

    def recorded(domain, measurements, **kw):
        c0 = time.process_time()
        model = inner(domain, measurements, **kw)
        info = dict(model.fit_info)
        calls.append(
            {
                "domain": domain,
                "measurements": list(measurements),
                "total": kw.get("total"),
                "iters": kw.get("iters", 1000),
                "cpu_s": time.process_time() - c0,
                "fit_info": info,
            }
        )
        return model

    graphical.estimate = recorded
    schema = load_schema(SCHEMA)
    table = encode_table(data, schema, engine="duckdb")
    c0 = time.process_time()
    synth = get_synthesizer("aim")(
        epsilon=epsilon, delta=1e-9, seed=0, noise_seed=noise_seed, quiet=True
    )
    synth.fit(table, schema)
    fit_cpu = time.process_time() - c0
    table.close()
    out.write_bytes(pickle.dumps(calls))
    print(json.dumps(summary(calls) | {"aim_fit_cpu_s": round(fit_cpu, 2)}))


def summary(calls: list[dict]) -> dict:
    rounds, final = calls[:-1], calls[-1]
    return {
        "round_fits": len(rounds),
        "round_cpu_s": round(sum(c["cpu_s"] for c in rounds), 2),
        "round_iterations": sum(c["fit_info"]["iterations"] for c in rounds),
        "final_cpu_s": round(final["cpu_s"], 2),
        "final_iterations": final["fit_info"]["iterations"],
        "final_loss": final["fit_info"]["loss"],
        "final_converged": final["fit_info"]["converged"],
    }


def replay(path: Path, **overrides) -> None:
    from privsynth.model.estimation import estimate

    calls = pickle.loads(path.read_bytes())
    model, out = None, []
    for c in calls:
        c0 = time.process_time()
        model = estimate(
            c["domain"],
            c["measurements"],
            total=c["total"],
            warm_start=model,
            iters=c["iters"],
            **overrides,
        )
        out.append({"cpu_s": time.process_time() - c0, "fit_info": dict(model.fit_info)})
    print(json.dumps(summary(out) | {"recorded": summary(calls)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("part", choices=["record", "replay"])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--noise-seed", type=int, default=0)
    ap.add_argument("--epsilon", type=float, default=1.0)
    args = ap.parse_args()
    if args.part == "record":
        record(args.paths[0], Path(args.paths[1]), args.noise_seed, args.epsilon)
    else:
        replay(Path(args.paths[0]))


if __name__ == "__main__":
    main()
