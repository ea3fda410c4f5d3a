"""LeNet-5 as the paper uses it: C1 20@7x7, C3 50@5x5, then a small classifier."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn


class LeNet5(nn.Module):
    """C1 conv 20@7x7 - ReLU - maxpool 2 - C3 conv 50@5x5 - ReLU - maxpool 2 - FC ``hidden`` (ReLU) - output.

    ``hidden=(120, 84)`` gives LeNet-5's C5 and F6; ``(500,)`` gives Caffe's LeNet head,
    and ``conv_relu=False`` Caffe's conv layers without a ReLU. The paper names only C1
    and C3, the layers its method initializes.
    """

    def __init__(
        self, in_channels: int = 1, num_classes: int = 10, image_size: int = 28, hidden: Sequence[int] = (120, 84), conv_relu: bool = True
    ) -> None:
        super().__init__()
        self.act = F.relu if conv_relu else nn.Identity()
        self.c1 = nn.Conv2d(in_channels, 20, 7)
        self.c3 = nn.Conv2d(20, 50, 5)
        side = ((image_size - 6) // 2 - 4) // 2
        if side < 1:
            raise ValueError(f"LeNet5: image_size={image_size} is too small; it must be at least 20")
        widths = [50 * side * side, *hidden]
        self.fcs = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(widths))
        self.out = nn.Linear(widths[-1], num_classes)

    def features(self, x: Tensor) -> Tensor:
        # pool before ReLU: the same values and gradients as ReLU then pool, on a 4x smaller map
        x = self.act(F.max_pool2d(self.c1(x), 2))
        return self.act(F.max_pool2d(self.c3(x), 2)).flatten(1)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        for fc in self.fcs:
            x = F.relu(fc(x))
        return self.out(x)


def lenet_for(x: Tensor, num_classes: int, hidden: Sequence[int] = (120, 84), conv_relu: bool = True) -> LeNet5:
    """A LeNet5 sized for image batch ``x`` (N, C, H, W)."""
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(f"LeNet5 needs square images; got {tuple(x.shape[-2:])}")
    return LeNet5(x.shape[1], num_classes, x.shape[-1], hidden, conv_relu)
