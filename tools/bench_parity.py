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
Target (issue 21): parity / plain within 1.2x (medians), loaded or quiet; the
load average before and after is printed with the figures, and the ratio of
the process's CPU time, which other jobs disturb less (issue 5 asked 1.5x).

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

    load = os.getloadavg()[0]
    plain(), parity()
    times, cpu = {"plain": [], "parity": []}, {"plain": [], "parity": []}
    for _ in range(args.rounds):
        for name, fn in (("plain", plain), ("parity", parity)):
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    p, q = statistics.median(times["plain"]), statistics.median(times["parity"])
    p_cpu, q_cpu = statistics.median(cpu["plain"]), statistics.median(cpu["parity"])
    print(f"{args.a} vs {args.b}, resnet_v2_50, batch {args.batch} x {args.size} x {args.size}, "
          f"{args.rounds} alternating rounds, medians; load average {load:.1f} -> {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    print(f"  two plain forward passes  {p:.3f} s   (rounds: {', '.join(f'{t:.2f}' for t in times['plain'])})")
    print(f"  parity run                {q:.3f} s   (rounds: {', '.join(f'{t:.2f}' for t in times['parity'])})")
    print(f"  ratio                     {q / p:.2f}x   (target <= 1.2x: {'met' if q / p <= 1.2 else 'NOT met'})")
    print(f"  CPU time of this process  {q_cpu:.3f} s vs {p_cpu:.3f} s: {q_cpu / p_cpu:.2f}x (what other jobs' load "
          f"disturbs least)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
