"""Benchmark: the cost of a parity run against two plain forward passes of the same models.

Both implementations are built and loaded once (resnet_v2_50, seeded random
canonical weights; a user pays that either way). Then, in alternating rounds
side by side after one warm-up round of each:
  plain   - A's forward pass and B's forward pass to their logits (what running
            the two models costs)
  parity  - a whole parity run: name parity of the variables, every endpoint of
            A and of B from one forward pass each (slim: one Session.run of all
            end points; Keras: one multi-output sub-model), the metrics of all
            endpoints, the first divergence (no diagnosis: the sides agree)
Target (issue 5): parity / plain under 1.5x (medians).

    python tools/bench_parity.py [--rounds 5] [--batch 8] [--size 224] [--a slim-graph] [--b keras-faithful]
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--a", default="slim-graph")
    parser.add_argument("--b", default="keras-faithful")
    args = parser.parse_args()

    from slimcompat.parity import check, environment, inputs
    from slimcompat.parity.name_parity import name_parity
    from slimcompat.weights.synthetic import random_weights

    environment.configure(tf32=False)
    weights = random_weights("resnet_v2_50", "slim", seed=0)
    batch = inputs.random_batch((args.batch, args.size, args.size, 3), seed=0)
    a, b, names = check.build(args.a, args.b, weights, batch.values.shape[1:])
    a.load(), b.load()
    xa, xb = batch.for_side(a), batch.for_side(b)

    def plain():
        a.forward(xa)
        b.forward(xb)

    def parity():
        report = check.compare(a, b, name_parity(a.variables(), b.variables()), batch, run_diagnosis=False)
        assert report["ok"], report["first_divergence"]

    plain(), parity()
    times = {"plain": [], "parity": []}
    for _ in range(args.rounds):
        for name, fn in (("plain", plain), ("parity", parity)):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    p, q = statistics.median(times["plain"]), statistics.median(times["parity"])
    print(f"{args.a} vs {args.b}, resnet_v2_50, batch {args.batch} x {args.size} x {args.size}, "
          f"{args.rounds} alternating rounds, medians")
    print(f"  two plain forward passes  {p:.3f} s   (rounds: {', '.join(f'{t:.2f}' for t in times['plain'])})")
    print(f"  parity run                {q:.3f} s   (rounds: {', '.join(f'{t:.2f}' for t in times['parity'])})")
    print(f"  ratio                     {q / p:.2f}x   (target < 1.5x: {'met' if q / p < 1.5 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
