"""The other initializers (orthogonal, LSUV, k-means, PCA) on LeNet-5, and every data-driven one on residual nets with BatchNorm."""

import dataclasses

import pytest
import torch
import torch.nn.functional as F
import torchvision
from test_inits import ALGO, images
from torch import nn

from seedinit import LeNet5, ResNet8, kmeans_init_, lsuv_init_, msra_init_, orthogonal_init_, pca_init_, seed_init_
from seedinit.inits import layer_io

INITS = {"orthogonal": orthogonal_init_, "lsuv": lsuv_init_, "kmeans": kmeans_init_, "pca": pca_init_}


def initialized(name, seed=1, x=None):
    model = msra_init_(LeNet5(), torch.Generator().manual_seed(0))
    reports = INITS[name](model, images(64) if x is None else x, generator=torch.Generator().manual_seed(seed))
    return model, [{k: v for k, v in dataclasses.asdict(r).items() if k != "seconds"} for r in reports]


@pytest.mark.parametrize("name", sorted(INITS))
def test_each_initializer_is_reproducible_with_its_generator_and_keeps_the_shapes(name):
    (a, reports_a), (b, reports_b), (c, _) = initialized(name), initialized(name), initialized(name, seed=2)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters())) and reports_a == reports_b
    assert [p.shape for p in a.parameters()] == [p.shape for p in LeNet5().parameters()]
    if name == "pca":  # all of C1's 30,976 patches (fewer than the 50,000 it draws): the generator only orders them
        assert torch.allclose(a.c1.weight, c.c1.weight, atol=1e-6)
    else:
        assert not torch.equal(a.c1.weight, c.c1.weight)
    assert all(m.bias.abs().sum() == 0 for m in (a.c1, a.c3))


@pytest.mark.parametrize("name", ["kmeans", "pca"])
def test_patch_filters_have_hes_norm_and_are_reported(name):
    model, reports = initialized(name)
    for conv in (model.c1, model.c3):
        assert torch.allclose(conv.weight.flatten(1).norm(dim=1), torch.full((conv.out_channels,), 2**0.5))
    assert [(r["layer"], r["filters"], r["seeded"]) for r in reports] == [("c1", 20, 20), ("c3", 50, 50)]
    if name == "pca":  # every patch (fewer than 50,000): 64 images x 22 x 22 places for C1, 7 x 7 for C3; the eigenvalues, leading first
        assert [r["candidates"] for r in reports] == [64 * 22 * 22, 64 * 7 * 7]
        assert all(r["scores"] == sorted(r["scores"], reverse=True) for r in reports)
    else:  # 10,000 random patches, or all where there are fewer (C3); the cluster sizes
        assert [r["candidates"] for r in reports] == [10000, 64 * 7 * 7]
        assert all(len(r["scores"]) == r["filters"] and 0 < sum(r["scores"]) <= r["candidates"] for r in reports)


def test_orthogonal_rows_are_orthogonal_with_relus_gain():
    model, reports = initialized("orthogonal")
    for m in (model.c1, model.c3, *model.fcs, model.out):
        w = m.weight.flatten(1)
        assert torch.allclose(w @ w.T, 2 * torch.eye(w.shape[0]), atol=1e-5)
    assert reports == []


def test_pca_filters_are_the_leading_eigenvectors_of_the_layers_input_as_the_network_computes_it():
    x = images(64)
    model, reports = initialized("pca", x=x)
    with torch.no_grad():
        prev = F.relu(F.max_pool2d(model.c1(x), 2))  # C3's input, through C1's new filters
    patches = F.unfold(prev, 5).transpose(1, 2).flatten(0, 1).double()
    values, vectors = torch.linalg.eigh(torch.cov(patches.T))
    assert reports[1]["scores"][0] == pytest.approx(values[-1].item(), rel=1e-6)
    assert abs(model.c3.weight[0].detach().flatten().double() @ vectors[:, -1]) == pytest.approx(2**0.5, rel=1e-4)


class Backwards(nn.Module):
    """Layers registered in the reverse of the order they run, with a BatchNorm between the convs."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(8, 10)
        self.second = nn.Conv2d(4, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.first = nn.Conv2d(1, 4, 3, stride=2, padding=1)

    def forward(self, x):
        return self.head(F.relu(self.second(F.relu(self.bn(self.first(x))))).mean((2, 3)))


@pytest.mark.parametrize("training", [True, False])
def test_lsuv_gives_every_layer_unit_output_std_in_forward_order_and_restores_the_mode(training):
    model, x = Backwards().train(training), images(100)
    reports = lsuv_init_(model, x, tol=0.05, generator=torch.Generator().manual_seed(0))
    assert [r.layer for r in reports] == ["first", "second", "head"] and model.training == training
    for layer in (model.first, model.second, model.head):  # a later layer's scaling leaves an earlier one's output alone
        assert abs(layer_io(model.eval(), layer, x)[1].std().item() - 1) <= 0.05
    assert all(r.scores[-1] == pytest.approx(1, abs=0.05) and r.seeded == 0 and r.candidates == 100 for r in reports)
    assert torch.equal(model.bn.running_mean, torch.zeros(4)) and model.bn.num_batches_tracked == 0  # eval mode: no statistics updated


def forward_order(model, x):
    """The Conv2d layers' names in the order a forward pass (eval mode) runs them, seen by hooks of our own."""
    order, training = [], model.training
    handles = [m.register_forward_hook(lambda m, i, o, n=n: order.append(n)) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model.eval()(x[:1])
    for h in handles:
        h.remove()
    model.train(training)
    return order


def test_seed_init_changes_every_conv_weight_of_resnet18_in_forward_order():
    """seed_init_ works on a torchvision ResNet-18. Images are noise in random 32-pixel blocks: on plain noise the 7x7 maps of layer4 answer
    alike everywhere, every place counts as represented, Algorithm 1 offers no candidate there, and those filters keep their init."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(16, 3, 224, 224, generator=g) * F.interpolate((torch.rand(16, 1, 7, 7, generator=g) > 0.5).float(), size=224)
    with torch.random.fork_rng():  # torchvision draws the weights from the global RNG: fixed here, left alone for other tests
        torch.manual_seed(0)
        model = torchvision.models.resnet18(num_classes=10)
    before = {n: m.weight.detach().clone() for n, m in model.named_modules() if isinstance(m, nn.Conv2d)}
    reports = seed_init_(model, x, generator=torch.Generator().manual_seed(0))
    assert [r.layer for r in reports] == forward_order(model, x) and len(reports) == len(before) == 20
    assert all(not torch.equal(before[n], model.get_submodule(n).weight) for n in before) and model.training
    assert min(r.seeded for r in reports) >= 9  # every layer found candidates (these weights: 9 to 16 of 16 images)


@pytest.mark.parametrize("name", sorted(INITS))
def test_the_other_inits_set_resnet18s_strided_padded_and_1x1_convs(name):
    """PCA and k-means on the first convs only: an eigendecomposition of layer4's 4608-wide patch covariance takes minutes."""
    model, x = torchvision.models.resnet18(num_classes=10), torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    some = ["conv1", "layer1.0.conv1", "layer2.0.downsample.0"]  # 7x7 stride 2 padding 3, 3x3 padding 1, 1x1 stride 2
    options = {"layers": some} if name in ("kmeans", "pca") else {}
    before = {n: m.weight.detach().clone() for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}
    reports = INITS[name](model, x, generator=torch.Generator().manual_seed(0), **options)
    changed = [n for n in before if not torch.equal(before[n], model.get_submodule(n).weight)]
    assert changed == (some if options else list(before))
    assert [r.layer for r in reports] == {"orthogonal": [], "lsuv": [*forward_order(model, x), "fc"]}.get(name, some)


@pytest.mark.parametrize("init", ["seed", "repaired", *sorted(INITS)])
def test_every_init_sets_every_conv_of_the_resnet8_with_batchnorm(init):
    model, x = msra_init_(ResNet8(), torch.Generator().manual_seed(0)), images(64, c=3, size=32)
    before = [m.weight.detach().clone() for m in model.modules() if isinstance(m, nn.Conv2d)]
    g = torch.Generator().manual_seed(0)
    if init in ("seed", "repaired"):
        repaired = {"zero_mean": True, "random": "he"} if init == "repaired" else {}
        reports = seed_init_(model, x, delta=0.5, **ALGO, **repaired, generator=g)
    else:
        reports = INITS[init](model, x, generator=g)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 9 and all(not torch.equal(a, m.weight) for a, m in zip(before, convs))
    assert init in ("orthogonal", "lsuv") or [r.layer for r in reports] == forward_order(model, x)


def test_pca_draws_the_receptive_fields_of_strided_padded_and_1x1_convs():
    model, x = msra_init_(ResNet8(), torch.Generator().manual_seed(0)), images(8, c=3, size=32)
    names = ["stages.1.c1", "stages.1.short.0"]  # 3x3 stride 2 padding 1, and the 1x1 stride-2 shortcut, on the same input
    reports = pca_init_(model, x, layers=names, generator=torch.Generator().manual_seed(0))
    for name, r in zip(names, reports):
        conv = model.get_submodule(name)
        prev, _ = layer_io(model.eval(), conv, x)  # the block's input (zero-padded for the 3x3 conv), which PCA left alone
        patches = F.unfold(prev, conv.kernel_size, stride=conv.stride).transpose(1, 2).flatten(0, 1).double()
        assert r.candidates == len(patches) == 8 * 16 * 16  # every one of the 16 x 16 output places of each 32 x 32 input
        assert r.scores[0] == pytest.approx(torch.linalg.eigvalsh(torch.cov(patches.T))[-1].item(), rel=1e-6)
