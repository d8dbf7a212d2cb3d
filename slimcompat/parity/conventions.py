"""What an implementation computes with, besides its weights: a description and an input convention.

Two implementations holding the same weights can still compute different
functions: any knob of the architecture description whose effect is on the
outputs (BatchNorm epsilon, stem pooling, where a stage strides, activation,
...), what input they expect (colour order, mean, std) and how many classes
they emit. Each implementation declares its conventions, so a failed parity
run starts from the list of declared differences and then tests each one
(see diagnosis).
"""

import dataclasses

from slimcompat.arch.conventions import InputConvention

__all__ = ["Conventions", "differences", "adjustable"]

_HANDLED_APART = ("num_classes", "background_class")   # the background-class experiment tests these


@dataclasses.dataclass(frozen=True)
class Conventions:
    description: object
    input: InputConvention

    @classmethod
    def of(cls, meta, **changes):
        """The conventions a weight file's metadata records, with knob `changes`."""
        return cls(meta.description.replace(**changes) if changes else meta.description, meta.input)

    @property
    def num_classes(self):
        return self.description.num_classes

    def replace(self, **changes):
        return Conventions(self.description.replace(**changes), self.input)

    def as_dict(self):
        return {"description": self.description.to_dict(), "input": self.input.to_dict()}


def adjustable(description):
    """Knobs an implementation can be rebuilt with to test a suspected cause: those that change outputs only."""
    return [knob for knob, _, effect in description.knobs() if effect == "output" and knob not in _HANDLED_APART]


def differences(a: Conventions, b: Conventions):
    """[(field, value in a, value in b)]: differing knobs, then input colour and scaling."""
    out = [(knob, va, vb) for knob, _, effect, va, vb in a.description.differences(b.description)
           if effect in ("output", "shape") or knob == "family"]
    if a.input.color != b.input.color:
        out.append(("color", a.input.color, b.input.color))
    if (a.input.mean, a.input.std) != (b.input.mean, b.input.std):
        out.append(("scaling", _scaling(a.input), _scaling(b.input)))
    return out


def _scaling(convention):
    return f"(x - {list(convention.mean)}) / {list(convention.std)}"
