"""What an implementation computes with, besides its weights.

Two implementations holding the same weights can still compute different
functions: BatchNorm epsilon, stem pooling, where a stage strides, what input
they expect (colour order, mean, std) and how many classes they emit. Each
implementation declares these here, so a failed parity run starts from the
list of declared differences and then tests each one (see diagnosis).
"""

import dataclasses
from typing import Optional

from slimcompat.weights.metadata import InputConvention

__all__ = ["Conventions", "differences", "ADJUSTABLE"]

# Fields an implementation can be rebuilt with, to test a suspected cause.
ADJUSTABLE = ("stem_pool", "bn_epsilon", "stride_placement")


@dataclasses.dataclass(frozen=True)
class Conventions:
    bn_epsilon: float
    stem_pool: str
    stride_placement: str
    input: InputConvention
    num_classes: Optional[int]

    @classmethod
    def of(cls, meta, **changes):
        """The conventions a weight file's metadata records, with `changes`."""
        values = dict(bn_epsilon=meta.bn_epsilon, stem_pool=meta.stem_pool, stride_placement=meta.stride_placement,
                      input=meta.input, num_classes=meta.num_classes)
        values.update(changes)
        return cls(**values)

    def as_dict(self):
        out = dataclasses.asdict(self)
        out["input"] = {"color": self.input.color, "mean": list(self.input.mean), "std": list(self.input.std)}
        return out


def differences(a: Conventions, b: Conventions):
    """[(field, value in a, value in b)] where a and b differ; input split into colour and scaling."""
    out = [(f, getattr(a, f), getattr(b, f)) for f in (*ADJUSTABLE, "num_classes") if getattr(a, f) != getattr(b, f)]
    if a.input.color != b.input.color:
        out.append(("color", a.input.color, b.input.color))
    if (a.input.mean, a.input.std) != (b.input.mean, b.input.std):
        out.append(("scaling", _scaling(a.input), _scaling(b.input)))
    return out


def _scaling(convention):
    return f"(x - {list(convention.mean)}) / {list(convention.std)}"
