"""Does a target compute what the weights' description says? One policy, read from the knobs' effects.

Weights go to targets that have a description of their own: a slim
checkpoint is read back with slim's conventions for its scope, a Keras `.h5`
is loaded into the stock keras.applications model, a torchvision state_dict
into torchvision's model, a canonical file into a SlimLayer already built.
Where the two descriptions differ, each difference is judged by its knob's
declared effect (slimcompat.arch.description: shape, output, training, head)
and by what the target does with it, declared once per target below:

- `judged`: the effects that count there (a built network ignores training
  knobs; a checkpoint read back with other conventions misses all of them);
- `ignored`: knobs a target need not match (it reads the classes from the
  logits, say);
- `refused`: the differences that are refused rather than warned about:
  knobs named (the strides: same shapes, another network) and effects
  (`shape`: the tensors would not even fit);
- `plan_only`: a difference counts only where it changes the target's plan
  (or its outputs' meaning), so a rule that picks the same units is not named.

Each target words its own refusal and warning from the verdict.
"""

import dataclasses

from slimcompat.errors import SlimcompatError

__all__ = ["STRIDES", "Difference", "Verdict", "Policy", "POLICIES", "judge"]

STRIDES = ("stride_placement", "stage_strides")
_INFERENCE_EFFECTS = ("training", "head")


@dataclasses.dataclass(frozen=True)
class Difference:
    knob: str
    label: str
    effect: str
    target: object          # the target's value
    weights: object         # the weights' value


@dataclasses.dataclass(frozen=True)
class Verdict:
    judged: list            # every Difference that counts, in knob order
    refused: list           # those the target refuses
    warned: list            # the others: they load, and the target computes otherwise


@dataclasses.dataclass(frozen=True)
class Policy:
    judged: tuple = ("output",)
    ignored: tuple = ()
    refused: tuple = STRIDES
    refused_effects: tuple = ()
    plan_only: bool = False
    meaning: tuple = ("background_class",)      # with plan_only: counted though the plan is the same


POLICIES = {
    # tf_slim.nets' own resnet_v1/v2_50..200: people restore the checkpoint into tf_slim's graph.
    "tf_slim": Policy(judged=("shape", "output", "training", "head"), ignored=("num_classes", "background_class", "l2"),
                      refused_effects=("shape",)),
    # Other slim scopes: read back with slim's conventions, and told how to read them as they are.
    "slim": Policy(judged=("shape", "output", "training", "head"), ignored=("num_classes", "background_class", "l2"),
                   refused=()),
    # A network already built (a stock keras.applications model, a SlimLayer): it computes with its own knobs.
    "built": Policy(),
    # torchvision's model: written only where it computes exactly what the weights' source computed.
    "torchvision": Policy(judged=("shape", "output"), refused_effects=("shape", "output"), plan_only=True),
}
POLICIES["timm"] = POLICIES["torchvision"]      # timm's model: the same rule


def judge(target, weights, policy):
    """Verdict on loading weights described by `weights` into `target` (descriptions; a policy or its name)."""
    policy = POLICIES[policy] if isinstance(policy, str) else policy
    if policy.plan_only:
        weights = _at_inference(weights, target)
    judged = [Difference(knob, label, effect, mine, theirs)
              for knob, label, effect, mine, theirs in target.differences(weights)
              if effect in policy.judged and knob not in policy.ignored]
    if policy.plan_only:
        judged = _changing_plan(target, weights, judged, policy)
    refused = [d for d in judged if d.knob in policy.refused or d.effect in policy.refused_effects]
    return Verdict(judged, refused, [d for d in judged if d not in refused])


def _at_inference(description, target):
    """`description` with the target's training and head knobs: what is compared is the network at inference."""
    if type(description) is not type(target):
        return description
    return description.replace(**{k: getattr(target, k) for k, _, effect in description.knobs()
                                  if effect in _INFERENCE_EFFECTS})


def _changing_plan(target, weights, judged, policy):
    """The differences that alone change the target's plan (or what its outputs mean); all of them where
    only their combination does."""
    reference = target.plan()

    def changes(knob, value):
        try:
            return target.replace(**{knob: value}).plan() != reference
        except SlimcompatError:
            return True
    named = [d for d in judged if d.knob in policy.meaning or changes(d.knob, d.weights)]
    if not named and weights.plan() != reference:
        named = judged
    return named
