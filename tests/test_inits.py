"""msra_init_ and seed_init_ on LeNet-5 and on other models."""

import pytest
import torch
from conftest import learnable
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from seedinit import Config, ConfigError, LeNet5, SeedOptions, msra_init_, seed_init_

ALGO = dict(theta=0.9, epsilon=0.2, radius=1, theta_mode="relative")  # candidates for every fake image


def images(n=64, c=1, size=28, seed=0):
    x, _ = learnable(n, (size, size) if c == 1 else (size, size, c), 10, seed)
    x = torch.from_numpy(x).float() / 255
    return x.unsqueeze(1) if c == 1 else x.permute(0, 3, 1, 2).contiguous()


def test_msra_is_he_normal_with_zero_bias_and_reproducible():
    a = msra_init_(LeNet5(), generator=torch.Generator().manual_seed(0))
    b = msra_init_(LeNet5(), generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    w = msra_init_(nn.Linear(2000, 500), torch.Generator().manual_seed(1)).weight
    assert abs(w.std().item() - (2 / 2000) ** 0.5) < 2e-4
    assert a.c1.bias.abs().sum() == 0 and a.out.bias.abs().sum() == 0


def test_seed_init_sets_every_filter_from_candidates_and_reports():
    model = msra_init_(LeNet5(), torch.Generator().manual_seed(0))
    reports = seed_init_(model, images(), delta=1.0, **ALGO, batch_size=16, generator=torch.Generator().manual_seed(0))
    assert [r.layer for r in reports] == ["c1", "c3"]
    for r, conv in zip(reports, (model.c1, model.c3)):
        assert r.filters == conv.out_channels and r.seeded <= r.candidates
        assert r.scores == sorted(r.scores, reverse=True) and len(r.scores) == r.seeded
        assert conv.bias.abs().sum() == 0
    c1 = reports[0]
    assert c1.seeded == 20  # 64 images offer enough candidates for 20 filters
    # delta = 1: the filters are the unit-norm, non-negative seed filters themselves
    assert torch.allclose(model.c1.weight.flatten(1).norm(dim=1), torch.ones(20))
    assert (model.c1.weight >= 0).all()


def test_seed_init_runs_each_layer_once_and_stops_there():
    """Its arithmetic is one image's pass to C3 (the forward order), then one pass to C1 and one to C3 over the images
    (batched): no layer after the one being seeded runs."""
    c1, c3 = 20 * 49 * 22 * 22, 50 * 500 * 7 * 7  # multiply-adds per MNIST image
    model = msra_init_(LeNet5(), torch.Generator().manual_seed(0))
    with FlopCounterMode(display=False) as count:
        seed_init_(model, images(40), delta=0.5, **ALGO, batch_size=16, generator=torch.Generator().manual_seed(0))
    assert count.get_total_flops() == 2 * (c1 + c3) + 40 * 2 * (c1 + (c1 + c3))


def test_fewer_candidates_than_filters_keep_their_random_init():
    model = msra_init_(LeNet5(), torch.Generator().manual_seed(0))
    before = model.c1.weight.detach().clone()
    with pytest.warns(UserWarning, match=r"seed_init_: the data set only some filters of these layers: c1: \d of 20 filters"):
        reports = seed_init_(model, images(n=5), delta=1.0, layers=["c1"], **ALGO)
    n = reports[0].seeded
    assert 0 < n <= 5
    assert torch.equal(model.c1.weight[n:], before[n:])
    assert not torch.equal(model.c1.weight[:n], before[:n])


@pytest.mark.parametrize("name", ["resnet18", "vgg11_bn"])
def test_a_network_the_data_cannot_fill_is_named_layer_by_layer(name):
    """Algorithm 1 counts a place as represented once any filter fires there: on a deep network, the later layers, whose
    maps are small and whose filters are many, get few candidates. The user is told which layers, and how many."""
    torchvision = pytest.importorskip("torchvision")
    model = msra_init_(getattr(torchvision.models, name)(num_classes=100), torch.Generator().manual_seed(0))
    noise = torch.rand(64, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with pytest.warns(UserWarning) as caught:
        reports = seed_init_(model, noise, generator=torch.Generator().manual_seed(0))
    short = [r for r in reports if r.seeded < r.filters]
    assert reports[-1] in short and len(caught) == 1  # the deepest conv (512 filters on a 2x2 or 1x1 map) among them
    message = str(caught[0].message)
    assert message.startswith("seed_init_: the data set only some filters of these layers: ")
    for r in short:
        assert f"{r.layer}: {r.seeded} of {r.filters} filters set from the data, which offered {r.candidates}" in message
        assert f"(the other {r.filters - r.seeded} keep their weights)" in str(r)


def test_delta_zero_gives_standard_normal_filters():
    model = msra_init_(LeNet5(), torch.Generator().manual_seed(0))
    seed_init_(model, images(n=256), delta=0.0, layers=["c3"], **ALGO, generator=torch.Generator().manual_seed(3))
    w = model.c3.weight
    assert abs(w.std().item() - 1.0) < 0.05 and abs(w.mean().item()) < 0.05


def test_works_on_any_model_with_conv2d_layers_in_forward_order():
    def net():
        torch.manual_seed(0)
        return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3), nn.ReLU(), nn.Flatten())

    x = images(n=32, c=3, size=10)
    both = net()
    seed_init_(both, x, delta=0.5, **ALGO, generator=torch.Generator().manual_seed(0))
    one_by_one = net()
    g = torch.Generator().manual_seed(0)
    seed_init_(one_by_one, x, delta=0.5, layers=["0"], **ALGO, generator=g)
    seed_init_(one_by_one, x, delta=0.5, layers=["2"], **ALGO, generator=g)
    assert all(torch.equal(p, q) for p, q in zip(both.parameters(), one_by_one.parameters()))
    assert both[0].weight.shape == (4, 3, 3, 3)


def test_zero_mean_variant_has_zero_mean_seed_filters():
    model = msra_init_(LeNet5(), torch.Generator().manual_seed(0))
    seed_init_(model, images(), delta=1.0, layers=["c1"], zero_mean=True, **ALGO)
    w = model.c1.weight.flatten(1)
    assert torch.allclose(w.mean(1), torch.zeros(20), atol=1e-6)
    assert torch.allclose(w.norm(dim=1), torch.ones(20))


def test_diverse_selection_keeps_no_two_filters_closer_than_the_bound():
    model = msra_init_(LeNet5(), torch.Generator().manual_seed(0))
    seed_init_(model, images(n=200), delta=1.0, layers=["c1"], selection="diverse", max_cosine=0.8, **ALGO)
    w = torch.nn.functional.normalize(model.c1.weight.flatten(1), dim=1)
    cos = (w @ w.T - torch.eye(20)).max()
    assert cos <= 0.8 + 1e-6


def test_bad_arguments_are_named():
    model = LeNet5()
    with pytest.raises(ConfigError, match=r"^seed_init_: delta=1.5 is not allowed; delta must be a number in \[0, 1\]"):
        seed_init_(model, images(4), delta=1.5, **ALGO)
    with pytest.raises(ConfigError, match="radius=1.5 is not allowed; radius must be a whole number"):
        seed_init_(model, images(4), delta=0.5, **{**ALGO, "radius": 1.5})
    with pytest.raises(ConfigError, match="gate='soft' is not allowed; gate must be one of activation, mask"):
        seed_init_(model, images(4), delta=0.5, gate="soft", **ALGO)
    with pytest.raises(ConfigError, match="unknown setting.s. detla; allowed: delta, theta"):
        seed_init_(model, images(4), detla=0.5)
    with pytest.raises(ConfigError, match="batch_size=0 is not allowed"):
        seed_init_(model, images(4), batch_size=0)
    with pytest.raises(ValueError, match=r"images must be an \(N, C, H, W\) tensor"):
        seed_init_(model, images(4)[0], delta=0.5, **ALGO)
    with pytest.raises(ValueError, match="no Conv2d named"):
        seed_init_(model, images(4), delta=0.5, layers=["c2"], **ALGO)
    for conv, what in ((nn.Conv2d(1, 2, 3, dilation=2), "dilation 1"), (nn.Conv2d(1, 2, 3, padding=(1, 0)), "zero padding")):
        with pytest.raises(ValueError, match=f"seed_init_: layer '0' is not supported: .*{what}"):
            seed_init_(nn.Sequential(conv), images(4), delta=0.5, **ALGO)


def test_settings_come_from_an_options_object_a_config_or_keywords_with_the_cli_defaults():
    """One set of defaults: seed_init_'s are the CLI's (theta relative to each image's peak)."""
    x = images(32)

    def filters(*args, **kw):
        model = msra_init_(LeNet5(), torch.Generator().manual_seed(0))
        seed_init_(model, x, *args, generator=torch.Generator().manual_seed(1), **kw)
        return model.c1.weight.detach().clone()

    assert SeedOptions().theta_mode == Config().theta_mode == "relative"
    default = filters()
    assert torch.equal(default, filters(SeedOptions())) and torch.equal(default, filters(Config(init="seed", dataset="cifar10")))
    assert torch.equal(filters(delta=0.9), filters(SeedOptions(delta=0.9)))
    assert torch.equal(filters(Config(delta=0.3), delta=0.9), filters(delta=0.9))  # keywords win over the object
    assert not torch.equal(default, filters(delta=0.9))
