"""The VGG family against its references: tf_slim.nets.vgg's graphs, keras.applications' VGG16/VGG19 and
torchvision's published layout and parameter counts."""

import math

import pytest

import slimcompat  # noqa: F401  (repairs tf_slim before it is imported)
from slimcompat.arch import describe, endpoint_scheme, scheme
from slimcompat.arch.families import vgg
from slimcompat.arch.conventions import INPUTS, source_input
from slimcompat.arch.registry import default_source
from slimcompat.arch.schemes import round_trip_failures
from slimcompat.errors import SlimcompatError

# tf_slim's function for each of our depths
SLIM_NETS = {"vgg_a": 11, "vgg_16": 16, "vgg_19": 19}


@pytest.fixture(scope="module")
def slim_graphs():
    """{scope: ({variable: shape}, [variables in creation order], end_points keys)} of tf_slim's nets at 224 px."""
    import tensorflow as tf
    import tf_slim as slim
    from tf_slim.nets import vgg as slim_vgg
    out = {}
    for scope in SLIM_NETS:
        with tf.Graph().as_default():
            images = tf.compat.v1.placeholder(tf.float32, (1, 224, 224, 3))
            with slim.arg_scope(slim_vgg.vgg_arg_scope()):
                _, end_points = getattr(slim_vgg, scope)(images, num_classes=1000, is_training=False)
            variables = tf.compat.v1.global_variables()
            out[scope] = ({v.op.name: tuple(v.shape.as_list()) for v in variables}, [v.op.name for v in variables],
                          set(end_points))
    return out


@pytest.mark.parametrize("scope", list(SLIM_NETS))
def test_slim_names_and_shapes_are_tf_slims_own(scope, slim_graphs):
    variables, _, _ = slim_graphs[scope]
    d = describe(scope)
    assert d.depth == SLIM_NETS[scope] and d.name == scope
    bound = scheme("slim", d)
    assert {bound.tensor(n): shape for n, shape in d.tensors().items()} == variables
    assert d.parameter_count() == sum(math.prod(s) for s in variables.values())


@pytest.mark.parametrize("scope", list(SLIM_NETS))
def test_slim_endpoints_are_tf_slims_end_points(scope, slim_graphs):
    _, _, end_points = slim_graphs[scope]
    d = describe(scope)
    bound = endpoint_scheme("slim", d)
    ours = [bound.layer(e) for e in d.endpoint_names()]
    assert set(ours) == end_points and len(ours) == len(end_points)


def test_slims_vgg_16_is_recognized_by_its_shapes_alone(slim_graphs):
    """Of every VGG with 1000 classes (the recognition candidates), only vgg_16 has tf_slim's shapes in order."""
    variables, order, _ = slim_graphs["vgg_16"]
    theirs = [variables[n] for n in order]
    matches = [c for c in vgg.FAMILY.recognize(1000) if list(c.tensors().values()) == theirs]
    assert [m.name for m in matches] == ["vgg_16"]


def test_candidates_cover_every_variant_with_and_without_classes():
    with_classes = list(vgg.candidates(10))
    assert all(c.num_classes == 10 for c in with_classes)
    assert {(c.depth, c.batch_norm) for c in with_classes} == {(d, bn) for d in vgg.DEPTHS for bn in (False, True)}
    without = list(vgg.candidates(None))
    assert all(c.num_classes is None for c in without) and {c.fc_layers for c in without} == {True, False}
    names = [c.name for c in without]
    assert len(set(names)) == len(names) == 2 * len(with_classes)


# ----------------------------------------------------------------- keras.applications

def _keras_weights(model):
    return {f"{layer.name}/{w.name}": tuple(w.shape) for layer in model.layers for w in layer.weights}


@pytest.fixture(scope="module")
def keras_models():
    """keras.applications' VGG16 and VGG19, with and without the top (weights=None)."""
    import keras
    out = {}
    for depth, build in ((16, keras.applications.VGG16), (19, keras.applications.VGG19)):
        for top in (True, False):
            model = build(weights=None, include_top=top)
            out[depth, top] = (_keras_weights(model), model.count_params(), [layer.name for layer in model.layers])
            del model
    keras.backend.clear_session()
    return out


@pytest.mark.parametrize("depth", [16, 19])
@pytest.mark.parametrize("top", [True, False])
def test_keras_names_and_shapes_are_keras_applications(depth, top, keras_models):
    weights, count, _ = keras_models[depth, top]
    d = describe(f"VGG{depth}") if top else describe(f"vgg_{depth}_notop", source="keras")
    bound = scheme("keras", d)
    ours = {bound.tensor(n): shape for n, shape in d.tensors().items()}
    assert set(ours) == set(weights)
    for name, shape in ours.items():
        if name.split("/")[0] in ("fc1", "fc2", "predictions"):   # conv kernels held as Dense: same elements
            assert math.prod(shape) == math.prod(weights[name]) and shape[-1] == weights[name][-1], name
        else:
            assert shape == weights[name], name
    assert d.parameter_count() == count


def test_keras_parameter_counts_are_the_published_ones():
    # keras.io/api/applications: VGG16 138,357,544 (138.4M), VGG19 143,667,240 (143.7M) parameters
    assert describe("VGG16").parameter_count() == 138_357_544
    assert describe("VGG19").parameter_count() == 143_667_240


@pytest.mark.parametrize("depth", [16, 19])
def test_keras_endpoints_are_layers_of_keras_applications(depth, keras_models):
    _, _, layers = keras_models[depth, True]
    d = describe(f"VGG{depth}")
    bound = endpoint_scheme("keras.applications", d)
    assert {bound.layer(e) for e in d.endpoint_names()} <= set(layers)


# ----------------------------------------------------------------- torchvision

# torchvision.models' weight tables (VGG*_Weights.IMAGENET1K_V1.meta["num_params"]): parameters(), so no
# BatchNorm running statistics.
TORCHVISION_PARAMS = {"vgg11": 132_863_336, "vgg11_bn": 132_868_840, "vgg13": 133_047_848, "vgg13_bn": 133_053_736,
                      "vgg16": 138_357_544, "vgg16_bn": 138_365_992, "vgg19": 143_667_240, "vgg19_bn": 143_678_248}


@pytest.mark.parametrize("name", list(TORCHVISION_PARAMS))
def test_torchvision_parameter_counts_are_the_published_ones(name):
    assert describe(name).parameter_count(trainable_only=True) == TORCHVISION_PARAMS[name]


def _torchvision_layout(depth, batch_norm):
    """torchvision's VGG layout as its documentation gives it, on the meta device (no memory, no init):
    features = per block, per conv Conv2d(3x3, padding 1)[, BatchNorm2d], ReLU, then MaxPool2d(2);
    classifier = Linear(25088, 4096), ReLU, Dropout, Linear(4096, 4096), ReLU, Dropout, Linear(4096, 1000)."""
    from torch import nn
    layers, channels = [], 3
    for n, width in zip(vgg.DEPTHS[depth], (64, 128, 256, 512, 512)):
        for _ in range(n):
            layers.append(nn.Conv2d(channels, width, 3, padding=1, device="meta"))
            layers += [nn.BatchNorm2d(width, device="meta")] if batch_norm else []
            layers.append(nn.ReLU())
            channels = width
        layers.append(nn.MaxPool2d(2, 2))
    model = nn.Module()
    model.features = nn.Sequential(*layers)
    model.classifier = nn.Sequential(nn.Linear(512 * 7 * 7, 4096, device="meta"), nn.ReLU(), nn.Dropout(),
                                     nn.Linear(4096, 4096, device="meta"), nn.ReLU(), nn.Dropout(),
                                     nn.Linear(4096, 1000, device="meta"))
    return {k: tuple(v.shape) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


@pytest.mark.parametrize("depth", list(vgg.DEPTHS))
@pytest.mark.parametrize("batch_norm", [False, True])
def test_torchvision_keys_and_shapes(depth, batch_norm):
    from slimcompat.arch import layout
    theirs = _torchvision_layout(depth, batch_norm)
    d = describe(f"vgg{depth}{'_bn' if batch_norm else ''}")
    bound = scheme("torchvision", d)
    ours = {bound.tensor(n): n for n in d.tensors()}
    assert set(ours) == set(theirs)
    for key, canonical in ours.items():
        shape = layout.shape_from_torch(canonical, theirs[key])
        expected = d.tensors()[canonical]
        if canonical.split("/")[0] in ("fc6", "fc7", "logits"):   # Linear: the conv kernel's elements
            assert math.prod(shape) == math.prod(expected), key
        else:
            assert shape == expected, key


# ----------------------------------------------------------------- names, schemes, sources

def _descriptions():
    named = [describe(n) for n in vgg.NAMES]
    return named + list(vgg.candidates(10)) + list(vgg.candidates(None))


@pytest.mark.parametrize("scheme_name", ["slim", "keras", "torchvision"])
def test_every_tensor_round_trips_through_every_scheme(scheme_name):
    for d in _descriptions():
        assert round_trip_failures(scheme_name, d) == [], d.name
        bound = scheme(scheme_name, d)
        names = [bound.tensor(n) for n in d.tensors()]
        assert len(set(names)) == len(names), d.name


def test_every_name_parses_back_to_its_description():
    for text in vgg.NAMES:
        d = describe(text)
        assert describe(d.name, source=default_source(text)) == d, text
        assert d.family == "vgg" and vgg.parse(d.name) is not None
    shapes = {}
    for d in _descriptions():
        key = d.name
        assert shapes.setdefault(key, (d.depth, d.batch_norm, d.fc_layers)) == (d.depth, d.batch_norm, d.fc_layers)
    assert describe("vgg_11") == describe("vgg_a") and describe("vgg11").depth == 11


def test_torchvision_indices_leave_no_gaps_and_no_collisions():
    bound = scheme("torchvision", describe("vgg19_bn"))
    layers = [bound.layer(op.layer) for op in describe("vgg19_bn").layers()]
    features = [int(name.split(".")[1]) for name in layers if name.startswith("features.")]
    # vgg19_bn: 16 convs, each conv, BatchNorm, ReLU; a pool after each of the 5 blocks
    assert features[:4] == [0, 1, 3, 4] and features[-2:] == [49, 50] and len(set(features)) == 32
    with pytest.raises(SlimcompatError):
        scheme("torchvision", describe("vgg11")).canonical_tensor("features.absent_1_2.weight")


def test_sources_set_only_their_habits():
    slim, keras, tv = describe("vgg_16"), describe("VGG16"), describe("vgg16")
    assert {k for k, *_ in slim.differences(keras)} == {"dropout", "softmax", "l2"}
    assert {k for k, *_ in slim.differences(tv)} == {"adaptive_pool", "l2"}
    assert all(effect != "shape" for _, _, effect, _, _ in keras.differences(tv))
    assert source_input("slim", slim) == INPUTS["vgg"] and source_input("keras", keras) == INPUTS["caffe"]
    assert source_input("torchvision", tv) == INPUTS["torch"]
    assert slim.num_classes == keras.num_classes == tv.num_classes == 1000 and not slim.background_class


def test_the_plan_is_slims_forward_pass():
    from slimcompat.arch import ops
    plan = describe("vgg_16").plan()
    pools = [op for op in plan if isinstance(op, ops.MaxPool)]
    assert pools == [ops.MaxPool(2, 2, "valid")] * 5
    fc6 = next(op for op in plan if isinstance(op, ops.Conv) and op.layer == "fc6")
    assert (fc6.kernel, fc6.padding, fc6.in_channels, fc6.filters, fc6.bias) == (7, "valid", 512, 4096, True)
    # fc6, ReLU, dropout6, fc7, ReLU, dropout7, fc8 without activation, squeeze
    assert [type(op).__name__ for op in plan[-11:]] == ["Conv", "Act", "Endpoint", "Dropout", "Conv", "Act",
                                                        "Endpoint", "Dropout", "Conv", "Flatten", "Endpoint"]
    assert not any(isinstance(op, ops.BatchNorm) for op in plan)
    assert describe("vgg_16", num_classes=None).endpoint_names()[-1] == "fc7"
    assert describe("vgg_16_notop").endpoint_names()[-1] == "block5/pool"


@pytest.mark.parametrize("name,knobs,message", [
    ("vgg_17", {}, "unknown VGG depth 17"),
    ("vgg_16", {"fc_layers": False}, "no classifier"),
    ("vgg_16", {"dropout": 1.0}, r"dropout must be a number in \[0, 1\)"),
])
def test_bad_names_and_variants_are_one_line_errors(name, knobs, message):
    with pytest.raises(SlimcompatError, match=message) as info:
        describe(name, **knobs)
    assert "\n" not in str(info.value)


def test_detection_names_describe_under_every_source():
    for source in ("slim", "keras", "torchvision"):
        found = [describe(name, source=source) for name in vgg.FAMILY.detect]
        assert len({d.name for d in found}) == len(vgg.FAMILY.detect) == 16
        assert {d.depth for d in found} == set(vgg.DEPTHS)


def test_knobs_shared_with_other_families_keep_their_labels():
    """Parity's diagnosis names a cause by knob name across families: a shared name must mean one thing."""
    from slimcompat.arch import FAMILIES
    ours = {name: (label, effect) for name, label, effect in vgg.VGG.knobs()}
    for family, cls in FAMILIES.items():
        for name, label, effect in cls.knobs():
            if name in ours and family != "vgg":
                assert ours[name] == (label, effect), (family, name)
