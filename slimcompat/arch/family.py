"""What a network family declares, in one place: the record every family module ends with.

A family module (`slimcompat.arch.families.<name>`) holds everything
slimcompat knows about one kind of network, and nothing else holds any of it:

- `description`: the frozen dataclass of its knobs, whose `plan()` is the
  forward pass as ops (slimcompat.arch.ops);
- `parse(text)` -> (knobs, source) for every name people type for it
  (`vgg_16`, `mobilenet_v1_050_160`, `wide_resnet50_2`), and `names`, the
  names it answers to (suggestions, detection, tests); a description's own
  `name` parses back to it, so no two networks share a name;
- `layers[scheme]`: (canonical layer template, scheme layer template) rules
  per naming scheme (slim, keras, keras1, torchvision, ...), the parameter
  vocabularies being the scheme's own (slimcompat.arch.schemes);
- `endpoints[scheme]`: where each implementation exposes each endpoint;
- `sources[source][key]`: (knobs, input convention) the weights of a source
  imply, `key` being `description.source_key` (ResNet: resnet_v1/resnet_v2);
- `detect`: the names whose descriptions are tried when a file names none;
- `recognize(num_classes, input_size)`: the descriptions a user's model with that
  classifier, traced at that size, could be (slimcompat.structure.recognize
  matches each plan against the model, op for op);
- `object_tree(stem, classes, kernels)`: the descriptions a TF-format checkpoint's
  object tree could be, from its first conv kernel's shape, its classes (None:
  no classifier) and its conv kernels' (shape, has bias) in recorded order
  (slimcompat.weights.object_tree matches each against the tree's shapes);
  where a family declares none, its `recognize` candidates are tried;
- `dense[scheme]`: canonical conv layers that scheme's implementation holds as
  a dense layer (VGG's fc6..fc8 in keras.applications and torchvision), so a
  file written for it holds their kernels in its shape (slimcompat.arch.layout);
- `conv[scheme]`: the other way round, canonical dense layers that scheme's
  implementation holds as a 1x1 conv (MobileNet v1's classifier, `conv_preds`
  in keras.applications);
- `keras_applications`: keras.applications' models of the family (names the
  family parses), each with the constructor arguments that take a knob's
  value (`{"MobileNet": {"alpha": "width"}}`);
- `torchvision`: torchvision's models of the family, by the names its builders
  have (`resnet50`, `vgg16_bn`); a target weights go to when it computes what
  they describe;
- `timm`: timm's models of the family (`inception_v4`, `resnet50`), the
  same way: its `timm` layer rules name their state_dicts.

The registry (slimcompat.arch.registry) lists the families, one line each.
Making the record also hangs it on its description class (`description.record`),
so code holding a description reaches its family's data without the registry.
"""

import dataclasses
from typing import Callable, Mapping, Optional, Tuple

__all__ = ["Family", "Rules", "match_name"]

Rules = Tuple[Tuple[str, str], ...]


@dataclasses.dataclass(frozen=True, eq=False)
class Family:
    name: str
    description: type
    parse: Callable[[str], Optional[Tuple[dict, str]]]
    names: Tuple[str, ...]
    layers: Mapping[str, Rules]
    endpoints: Mapping[str, Rules] = dataclasses.field(default_factory=dict)
    sources: Mapping[str, Mapping[str, Tuple[dict, str]]] = dataclasses.field(default_factory=dict)
    detect: Tuple[str, ...] = ()
    recognize: Optional[object] = None
    object_tree: Optional[object] = None
    dense: Mapping[str, Tuple[str, ...]] = dataclasses.field(default_factory=dict)
    conv: Mapping[str, Tuple[str, ...]] = dataclasses.field(default_factory=dict)
    keras_applications: Mapping[str, Mapping[str, str]] = dataclasses.field(default_factory=dict)
    torchvision: Tuple[str, ...] = ()
    timm: Tuple[str, ...] = ()

    def __post_init__(self):
        self.description.record = self


def match_name(patterns, text):
    """(knobs, source) by the first of `patterns` — (compiled regex, source, knobs from the match) — that matches
    `text` whole, else None: how a family module reads the names people type for its networks."""
    for pattern, source, knobs in patterns:
        if m := pattern.match(text):
            return knobs(m), source
    return None
