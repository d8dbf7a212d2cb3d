"""torchvision's ResNet and ResNeXt, rebuilt from what torchvision documents, for tests that may not install it.

torchvision's PyPI wheel does not install beside the torch this project pins,
so the tests check `--to torch` output against this independent rebuild of
`torchvision.models.resnet` (pytorch/vision `torchvision/models/resnet.py`,
v0.2 onwards; the module printout of `resnet50()` shows the same), written
from its facts, not from slimcompat's description layer:

- stem: `conv1` 7x7/2, padding 3, no bias; `bn1` (eps 1e-5); ReLU; `maxpool`
  3x3/2 padding 1 (padding never wins a max).
- `layer1..layer4`, `[3, 4, 6, 3]` units for 50 layers, each unit of
  `planes` 64, 128, 256, 512: Bottleneck `conv1` 1x1 -> `bn1` -> ReLU ->
  `conv2` 3x3 with the stage's stride ("v1.5") and `groups`, padding 1 ->
  `bn2` -> ReLU -> `conv3` 1x1 to 4 * planes -> `bn3`; BasicBlock `conv1` 3x3
  strided -> `bn1` -> ReLU -> `conv2` 3x3 -> `bn2`. Middle width
  `int(planes * width_per_group / 64) * groups`. `downsample` =
  Sequential(1x1 conv with the stride, BatchNorm) where the stride is not 1 or
  the channels change; out = ReLU(residual + identity). Stage strides 1, 2, 2, 2.
- head: AdaptiveAvgPool2d(1), flatten, `fc` Linear(features, classes).
"""

import torch
from torch import nn

__all__ = ["resnet", "MODELS"]

# name: (block, units per stage, groups, width per group)
MODELS = {
    "resnet18": ("basic", (2, 2, 2, 2), 1, 64),
    "resnet50": ("bottleneck", (3, 4, 6, 3), 1, 64),
    "resnext50_32x4d": ("bottleneck", (3, 4, 6, 3), 32, 4),
}


class _Unit(nn.Module):
    def __init__(self, block, in_channels, planes, stride, groups, width_per_group):
        super().__init__()
        out = planes * (4 if block == "bottleneck" else 1)
        if block == "bottleneck":
            width = int(planes * width_per_group / 64) * groups
            self.convs = ("conv1", "conv2", "conv3")
            self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
            self.conv2 = nn.Conv2d(width, width, 3, stride, padding=1, groups=groups, bias=False)
            self.conv3 = nn.Conv2d(width, out, 1, bias=False)
            widths = (width, width, out)
        else:
            self.convs = ("conv1", "conv2")
            self.conv1 = nn.Conv2d(in_channels, planes, 3, stride, padding=1, bias=False)
            self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
            widths = (planes, planes)
        for i, channels in enumerate(widths, start=1):
            self.add_module(f"bn{i}", nn.BatchNorm2d(channels))
        self.downsample = None
        if stride != 1 or in_channels != out:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        y = x
        for i, conv in enumerate(self.convs, start=1):
            y = getattr(self, f"bn{i}")(getattr(self, conv)(y))
            if i < len(self.convs):
                y = torch.relu(y)
        return torch.relu(y + (self.downsample(x) if self.downsample is not None else x))


class _ResNet(nn.Module):
    def __init__(self, block, units, groups, width_per_group, num_classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, padding=1)
        channels = 64
        for s, (n, planes, stride) in enumerate(zip(units, (64, 128, 256, 512), (1, 2, 2, 2)), start=1):
            stage = []
            for u in range(n):
                stage.append(_Unit(block, channels, planes, stride if u == 0 else 1, groups, width_per_group))
                channels = planes * (4 if block == "bottleneck" else 1)
            self.add_module(f"layer{s}", nn.Sequential(*stage))
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        for s in range(1, 5):
            x = getattr(self, f"layer{s}")(x)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def resnet(name, num_classes=1000):
    """torchvision's `name` (resnet18, resnet50, resnext50_32x4d) as its constructor builds it, in eval mode."""
    return _ResNet(*MODELS[name], num_classes).eval()
