"""The explicit changes `convert` makes only on request: background class, auxiliary head, colour order, BatchNorm
epsilon."""

from slimcompat.errors import SlimcompatError
from slimcompat.weights import transforms

__all__ = ["add_arguments", "apply"]


def add_arguments(parser):
    parser.add_argument("--drop-background", action="store_true",
                        help="1001-class weights with background at 0 -> 1000 classes")
    parser.add_argument("--keep-background", action="store_true",
                        help="write 1001-class weights to Keras as they are")
    parser.add_argument("--drop-aux", action="store_true",
                        help="drop the auxiliary head (Inception's aux logits, training only): keras.applications' "
                             "InceptionV3 has none")
    parser.add_argument("--flip-color", action="store_true",
                        help="reverse the first conv's input channels (RGB <-> BGR)")
    parser.add_argument("--bn-epsilon", type=float,
                        help="re-express BatchNorm for this epsilon (folds the difference into moving_variance)")


def _check_background(weights, dst_kind, args):
    if args.drop_background and args.keep_background:
        raise SlimcompatError("--drop-background and --keep-background exclude each other")
    if (dst_kind == "keras" and weights.meta.background_class
            and not (args.drop_background or args.keep_background)):
        raise SlimcompatError(
            f"{args.src}: {weights.meta.architecture} weights have {weights.meta.num_classes} classes with "
            f"background at index 0; Keras ImageNet models have 1000: pass --drop-background, or "
            f"--keep-background for a {weights.meta.num_classes}-class Keras model")


def apply(weights, dst_kind, args):
    """The explicit changes asked for (background class, colour order, epsilon), checked against the destination."""
    _check_background(weights, dst_kind, args)
    if args.drop_background:
        weights = transforms.drop_background(weights)
    if args.drop_aux:
        weights = transforms.drop_aux(weights)
    if args.flip_color:
        weights = transforms.flip_color(weights)
    if args.bn_epsilon is not None:
        weights = transforms.set_bn_epsilon(weights, args.bn_epsilon)
    return weights
