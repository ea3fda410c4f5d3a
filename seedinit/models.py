"""LeNet-5 as the paper uses it (C1 20@7x7, C3 50@5x5, then a small classifier), and a small ResNet with BatchNorm."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn


class LeNet5(nn.Module):
    """C1 conv 20@7x7 - ReLU - maxpool 2 - C3 conv 50@5x5 - ReLU - maxpool 2 - FC ``hidden`` (ReLU) - output.
    ``hidden=(120, 84)`` gives LeNet-5's C5 and F6; ``(500,)`` gives Caffe's LeNet head, and ``conv_relu=False`` Caffe's
    conv layers without a ReLU. The paper names only C1 and C3, the layers its method initializes."""

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


class Block(nn.Module):
    """He et al.'s (2016) basic block: 3x3 conv-BN-ReLU, 3x3 conv-BN, plus the input (or its 1x1 strided conv-BN), then ReLU."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
        self.c2, self.b2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
        self.short = nn.Sequential()  # identity, or a projection where the shape changes
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.b2(self.c2(F.relu(self.b1(self.c1(x))))) + self.short(x))


class ResNet8(nn.Module):
    """A CIFAR ResNet (He et al. 2016, section 4.2) with one block per stage: a 3x3 stem, stages of ``widths`` channels
    (16-32-64), the later ones halving the map by stride 2 with 1x1 projection shortcuts, global average pooling, a
    linear classifier; 8 weight layers, about 78k parameters: small enough to train on 2 CPU cores, deep enough for BatchNorm."""

    def __init__(self, in_channels: int = 3, num_classes: int = 10, widths: Sequence[int] = (16, 32, 64)) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU())
        self.stages = nn.Sequential(*(Block(a, b, 1 if a == b else 2) for a, b in itertools.pairwise((widths[0], *widths))))
        self.out = nn.Linear(widths[-1], num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.out(self.stages(self.stem(x)).mean((2, 3)))
