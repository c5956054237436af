"""The Kinds page's default comparison: every kind trained for its time budget on Digits, then measured.

Runs kinds.run in a background job with the page's default settings (kinds.CompareSettings()), as the page's
"Train all kinds" does, and prints the time in all (the page's own "in all" figure), each kind's epochs and test
error, and the page's computed verdict.

Run: python benchmarks/bench_kinds.py [--repeats 2]
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as app.py does, before torch is imported
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aelab import data, kinds  # noqa: E402
from aelab.jobs import Job  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    bundle = data.load("digits")
    settings = kinds.CompareSettings()
    print(f"digits, page defaults: {', '.join(settings.kinds)}; {settings.seconds:g} s each ({settings.budget})")
    for i in range(args.repeats):
        job = Job(lambda ctx: kinds.run(bundle, settings, ctx), name="kinds").start()
        job.join()
        result = job.result
        print(f"RESULT run {i + 1}: {result.status}, {result.seconds:.1f} s in all; " + "; ".join(
            f"{r.kind} {r.epochs:.0f} epochs" for r in result.results))
        for line in kinds.verdict(result, bundle.input_dim):
            print("   ", line)


if __name__ == "__main__":
    main()
