import pytest
import torch
import torch.nn.functional as F

from seedinit import LeNet5


@pytest.mark.parametrize(("size", "channels", "flat"), [(28, 1, 450), (32, 1, 800), (32, 3, 800)])
def test_lenet_shapes(size, channels, flat):
    model = LeNet5(channels, 100, size)
    assert model.c1.weight.shape == (20, channels, 7, 7)
    assert model.c3.weight.shape == (50, 20, 5, 5)
    assert model.features(torch.zeros(2, channels, size, size)).shape == (2, flat)
    assert model(torch.zeros(2, channels, size, size)).shape == (2, 100)


def test_classifier_width_is_an_option():
    caffe = LeNet5(hidden=(500,))
    assert [fc.out_features for fc in caffe.fcs] == [500]
    assert [fc.out_features for fc in LeNet5().fcs] == [120, 84]


def test_too_small_images_are_refused():
    with pytest.raises(ValueError, match="too small"):
        LeNet5(image_size=16)


def test_pooling_before_relu_matches_the_textbook_order_in_values_and_gradients():
    torch.manual_seed(0)
    model, x = LeNet5(), torch.randn(4, 1, 28, 28)
    textbook = F.max_pool2d(F.relu(model.c3(F.max_pool2d(F.relu(model.c1(x)), 2))), 2).flatten(1)
    (g_ref,) = torch.autograd.grad(textbook.square().sum(), model.c1.weight)
    ours = model.features(x)
    (g,) = torch.autograd.grad(ours.square().sum(), model.c1.weight)
    assert torch.equal(ours, textbook) and torch.equal(g, g_ref)


def test_caffes_lenet_settings_change_what_they_say():
    import torch

    x = torch.randn(4, 1, 28, 28)
    assert (LeNet5().features(x) >= 0).all() and (LeNet5(conv_relu=False).features(x) < 0).any()  # no ReLU after the convs
    assert LeNet5(hidden=(500,)).fcs[0].out_features == 500


def test_standardized_inputs_and_no_conv_relu_train_and_are_recorded(tiny_mnist):
    from seedinit import Config, load_dataset, run

    data = load_dataset("mnist", tiny_mnist)
    base = run(Config(ratio=0.5, epochs=2, device="cpu"), data)
    for changes in ({"inputs": "standard"}, {"conv_relu": False}):
        record = run(Config(ratio=0.5, epochs=2, device="cpu", **changes), data)
        assert record["config"] | changes == record["config"] and record["history"] != base["history"]
    assert Config(inputs="standard").key() != Config().key() and Config(conv_relu=True).key() == Config().key()
