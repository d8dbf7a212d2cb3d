"""`slimcompat inspect FILE`: what a weight file holds, in well under a second.

Canonical and Keras h5 files are read with h5py alone (TensorFlow is not
imported); slim checkpoints need TensorFlow's checkpoint reader. Canonical
files and slim checkpoints are described from their headers (names, shapes,
dtypes, checked against the architecture as a read checks them): no tensor
data is read, so a slim checkpoint's source hash is not computed. Keras files
are read whole, after the same checks.
"""

import json

from slimcompat.arch import STEM_POOLS, STRIDE_PLACEMENTS, describe as describe_name
from slimcompat.weights import convert, formats

__all__ = ["add_arguments", "run", "describe"]


def add_arguments(parser):
    parser.add_argument("file", help="canonical .h5, slim checkpoint (prefix, file or folder), or Keras weight file")
    parser.add_argument("--from", dest="kind", choices=formats.kinds(), help="the file's kind (default: detected)")
    parser.add_argument("--json", action="store_true", help="print JSON")


def describe(path, kind=None):
    """{kind, architecture, tensors, parameters, bytes, metadata...} of a weight file."""
    kind = kind or convert.detect(path)
    header = formats.get(kind).read_header(path)
    if header is not None:
        meta, detail = header.meta, header.detail
        count, params, nbytes = header.totals()
    else:
        weights = convert.load(path, kind)
        meta, count, params = weights.meta, len(weights.tensors), weights.parameter_count
        nbytes = int(sum(t.nbytes for t in weights.tensors.values()))
        detail = meta.source_kind
    base = describe_name(meta.architecture)
    variant = {knob: mine for knob, _, _, _, mine in base.differences(meta.description)
               if knob not in ("num_classes", "background_class")}
    return {"file": str(path), "kind": kind, "detail": detail, "architecture": meta.architecture,
            "tensors": count, "parameters": params, "bytes": nbytes, "num_classes": meta.num_classes,
            "background_class": meta.background_class, "bn_epsilon": getattr(meta.description, "bn_epsilon", None),
            "stride_placement": getattr(meta.description, "stride_placement", None),
            "stem_pool": getattr(meta.description, "stem_pool", None),
            "conv_bias": getattr(meta.description, "conv_bias", None), "description": meta.description.to_dict(),
            "variant": {k: list(v) if isinstance(v, tuple) else v for k, v in variant.items()},
            "input": {"color": meta.input.color, "mean": list(meta.input.mean), "std": list(meta.input.std)},
            "input_shape": list(meta.input_shape) or None,
            "source_kind": meta.source_kind, "source_file": meta.source_file,
            "source_sha256": meta.source_sha256}


def run(args):
    info = describe(args.file, args.kind)
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    classes = ("none (headless)" if not info["num_classes"] else
               f"{info['num_classes']}" + (" (index 0 = background)" if info["background_class"] else ""))
    rows = [
        ("file", info["file"]),
        ("kind", f"{info['kind']} ({info['detail']})"),
        ("architecture", info["architecture"]),
        ("tensors", info["tensors"]),
        ("parameters", f"{info['parameters']:,} ({info['bytes'] / 2**20:.1f} MiB)"),
        ("classes", classes),
    ]
    if info["bn_epsilon"] is not None:
        rows.append(("bn epsilon", f"{info['bn_epsilon']:g}"))
    if info["stride_placement"]:
        rows += [("strides", f"{info['stride_placement']}: {STRIDE_PLACEMENTS[info['stride_placement']]}"),
                 ("stem pool", f"{info['stem_pool']}: {STEM_POOLS[info['stem_pool']]}")]
    if info["conv_bias"] is not None:
        rows.append(("conv bias", "yes" if info["conv_bias"] else "no"))
    rows += [
        ("variant", ", ".join(f"{k}={v}" for k, v in info["variant"].items()) or
         f"none (the conventions of {info['architecture']})"),
        ("input", f"{info['input']['color']}, (pixel - {info['input']['mean']}) / {info['input']['std']}"),
    ]
    if info["input_shape"]:
        rows.append(("input size", "x".join(map(str, info["input_shape"])) + " (recorded; the default of parity, "
                                                                              "diff and to_keras_model)"))
    if info["source_kind"] and info["kind"] == "canonical":
        digest = f" sha256 {info['source_sha256'][:16]}..." if info["source_sha256"] else ""
        rows.append(("source", f"{info['source_kind']} {info['source_file']}{digest}"))
    for key, value in rows:
        print(f"{key:<13} {value}")
    return 0
