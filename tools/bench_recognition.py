"""Benchmark: recognising a ResNet-152 by structure, against the bare trace of the same model.

The model is built once (a user pays that either way): seed 001's ResNet-152 as its author wrote
it (functional, auto-named layers; built from tests/seed_programs by slimcompat.structure.model_code)
under Keras 3 and under tf-keras, and keras.applications.ResNet152. Then, in alternating rounds side
by side:
  trace      - TensorFlow's own trace of one forward pass (tf.function concrete function), the part of
               recognition no implementation can skip
  recognise  - slimcompat.structure.recognize: that trace, read into nodes, simplified, the description
               derived with every knob, its plan matched op for op, every variable mapped
Target (issue 12): recognition of a ResNet-152 under 5 s on this machine (medians).

    python tools/bench_recognition.py [--rounds 5] [--models seed001-keras3 seed001-tf-keras keras-applications]
"""

import argparse
import os
import pathlib
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
SEED = pathlib.Path(__file__).resolve().parent.parent / "tests" / "seed_programs" / "seed001_resnet152.py"
MODELS = ("seed001-keras3", "seed001-tf-keras", "keras-applications")


def build(name):
    if name == "keras-applications":
        import keras
        return keras.applications.ResNet152(weights=None)
    from slimcompat.structure.model_code import load_model
    return load_model(f"{SEED}:model", keras="3" if name == "seed001-keras3" else "2")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    args = parser.parse_args()

    import tensorflow as tf
    from slimcompat.structure import recognize

    worst = 0.0
    for name in args.models:
        start = time.perf_counter()
        model = build(name)
        built = time.perf_counter() - start
        spec = tf.TensorSpec((1, 224, 224, 3), tf.float32)

        def trace():
            tf.function(lambda x: model(x, training=False), autograph=False).get_concrete_function(spec)

        def recognition():
            return recognize(model)

        found = recognition()
        times = {"trace": [], "recognise": []}
        for _ in range(args.rounds):
            for label, fn in (("trace", trace), ("recognise", recognition)):
                start = time.perf_counter()
                fn()
                times[label].append(time.perf_counter() - start)
        t, r = statistics.median(times["trace"]), statistics.median(times["recognise"])
        worst = max(worst, r)
        d = found.description
        print(f"{name}: {d.name}, {d.parameter_count():,} parameters, {sum(map(len, found.tensors.values()))} "
              f"variables (built in {built:.1f} s, once)")
        print(f"  TensorFlow's trace    {t:.2f} s   (rounds: {', '.join(f'{x:.2f}' for x in times['trace'])})")
        print(f"  recognition           {r:.2f} s   (rounds: {', '.join(f'{x:.2f}' for x in times['recognise'])})")
        print(f"  ratio                 {r / t:.2f}x the bare trace")
    print(f"slowest median recognition {worst:.2f} s (target < 5 s: {'met' if worst < 5 else 'NOT met'})")
    return 0 if worst < 5 else 1


if __name__ == "__main__":
    sys.exit(main())
