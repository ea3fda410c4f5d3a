"""Each step of Algorithm 1 on hand-built tensors."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seedinit.algorithm import TopK, activation_map, align, best_window, inhibit, mix, seed_filters, select_diverse, suppress
from seedinit.inits import layer_io


def test_inhibit_subtracts_a_fraction_of_each_images_peak():
    prev = torch.tensor([[[[0.0, 1.0], [2.0, 4.0]]], [[[10.0, 5.0], [0.0, 0.0]]]])
    out = inhibit(prev, epsilon=0.5)
    assert torch.equal(out[0, 0], torch.tensor([[0.0, 0.0], [0.0, 2.0]]))
    assert torch.equal(out[1, 0], torch.tensor([[5.0, 0.0], [0.0, 0.0]]))
    assert torch.equal(inhibit(prev, 0.0), prev)


def test_activation_map_max_and_mean_over_channels():
    act = torch.tensor([[[[1.0, 0.0]], [[3.0, 2.0]]]])
    assert torch.equal(activation_map(act, "max"), torch.tensor([[[3.0, 2.0]]]))
    assert torch.equal(activation_map(act, "mean"), torch.tensor([[[2.0, 1.0]]]))


def test_suppress_zeroes_the_square_of_radius_r_around_strong_places():
    a = torch.ones(1, 9, 9)
    a[0, 4, 4] = 5.0
    out = suppress(a, 2.0, radius=1)
    assert out[0, 3:6, 3:6].abs().sum() == 0
    assert out.sum() == 81 - 9  # everything else untouched
    only_centre = suppress(a, 2.0, radius=0)
    assert only_centre[0, 4, 4] == 0 and only_centre.sum() == 80
    assert torch.equal(suppress(a, 10.0, radius=3), a)  # nothing above threshold


def test_suppress_accepts_a_threshold_per_image():
    a = torch.stack([torch.full((5, 5), 1.0), torch.full((5, 5), 3.0)])
    out = suppress(a, torch.tensor([2.0, 2.0]), radius=0)
    assert out[0].sum() == 25 and out[1].sum() == 0


def test_align_centres_output_positions_on_their_receptive_fields():
    a = torch.arange(1.0, 10.0).view(1, 3, 3)
    out = align(a, kernel_size=3)  # 5x5 input, valid 3x3 conv -> 3x3 output
    assert out.shape == (1, 5, 5)
    assert out[0, 1, 1] == 1 and out[0, 3, 3] == 9 and out[0, 0].sum() == 0
    # the output at (i, j) is computed over input rows i..i+2: its centre is i+1
    assert align(torch.ones(1, 2, 2), 4).shape == (1, 5, 5)  # even kernel: pad 1 before, 2 after


def test_best_window_finds_the_highest_energy_patch_across_channels():
    seed = torch.zeros(1, 2, 8, 8)
    seed[0, 0, 5:7, 1:3] = 1.0  # energy 4 in channel 0
    seed[0, 1, 5:7, 1:3] = 1.0  # plus 4 in channel 1
    seed[0, 0, 0, 7] = 1.9  # a single bright pixel: energy 3.61
    windows, energy = best_window(seed, 2)
    assert torch.isclose(energy, torch.tensor([8.0]))
    assert torch.equal(windows[0], torch.ones(2, 2, 2))


def _layer_io(prev, weight):
    return F.relu(F.conv2d(prev, weight))


def test_seed_filters_shapes_unit_norm_and_nonnegativity():
    g = torch.Generator().manual_seed(0)
    prev = torch.rand(6, 3, 12, 12, generator=g)
    act = _layer_io(prev, torch.randn(4, 3, 5, 5, generator=g))
    g_x, score = seed_filters(prev, act, 5, theta=0.5, epsilon=0.2, radius=1, theta_mode="relative")
    assert g_x.shape == (6, 3, 5, 5) and score.shape == (6,)
    found = score > 0
    assert found.any()
    assert torch.allclose(g_x[found].flatten(1).norm(dim=1), torch.ones(int(found.sum())))
    assert (g_x >= 0).all()


def test_an_image_fully_represented_gives_no_candidate():
    prev = torch.ones(1, 1, 7, 7)
    act = torch.full((1, 2, 5, 5), 3.0)  # every place above theta: all suppressed
    g_x, score = seed_filters(prev, act, 3, theta=1.0, epsilon=0.0, radius=1)
    assert score.item() == 0 and g_x.abs().sum() == 0


def test_seed_is_gated_by_the_weak_activations_that_survive():
    prev = torch.zeros(1, 1, 9, 9)
    prev[0, 0, 1:4, 1:4] = 1.0  # a blob at the top left
    prev[0, 0, 5:8, 5:8] = 2.0  # and a brighter one at the bottom right
    act = torch.zeros(1, 1, 7, 7)
    act[0, 0, 0:3, 0:3] = 0.5  # weak answers over the top-left blob (centres 1..3 on the input)
    act[0, 0, 5, 5] = 9.0  # a strong answer at the bottom-right blob: suppressed with its neighbours
    g_x, score = seed_filters(prev, act, 3, theta=1.0, epsilon=0.0, radius=1)
    assert score.item() == pytest.approx(1.5)  # ||nine 0.5s||
    assert torch.allclose(g_x[0, 0], torch.full((3, 3), 1 / 3))  # the top-left blob, unit norm
    g_mask, _ = seed_filters(prev, act, 3, theta=1.0, epsilon=0.0, radius=1, gate="mask")
    assert torch.allclose(g_mask, g_x)  # uniform weights: same window either way


def test_topk_over_batches_equals_global_topk():
    g = torch.Generator().manual_seed(1)
    scores = torch.rand(50, generator=g)
    scores[::7] = 0  # no candidate
    filters = torch.arange(50.0).view(50, 1, 1, 1)
    best = TopK(5)
    for i in range(0, 50, 8):
        best.update(filters[i : i + 8], scores[i : i + 8])
    top = torch.topk(scores, 5)
    assert torch.equal(best.scores, top.values)
    assert torch.equal(best.filters.flatten(), top.indices.float())
    assert best.seen == int((scores > 0).sum())


def test_topk_keeps_fewer_when_fewer_candidates():
    best = TopK(5)
    best.update(torch.ones(4, 1, 1, 1), torch.tensor([0.0, 2.0, 0.0, 1.0]))
    assert best.scores.tolist() == [2.0, 1.0]


def test_select_diverse_skips_near_duplicates():
    f = torch.tensor([[1.0, 0.0], [0.99, 0.01], [0.0, 1.0], [0.7, 0.7]]).view(4, 1, 1, 2)
    keep = select_diverse(f, torch.tensor([4.0, 3.0, 2.0, 1.0]), k=3, max_cosine=0.9)
    assert keep.tolist() == [0, 2, 3]
    assert select_diverse(f, torch.ones(4), k=2, max_cosine=0.9).tolist() == [0, 2]


def test_mix_ends_delta_zero_is_the_random_filter_delta_one_the_seed():
    g_x = F.normalize(torch.rand(3, 2, 5, 5).flatten(1), dim=1).view(3, 2, 5, 5)
    g_r = torch.randn(g_x.shape, generator=torch.Generator().manual_seed(7))
    assert torch.equal(mix(g_x, 0.0, "normal", torch.Generator().manual_seed(7)), g_r)
    assert torch.equal(mix(g_x, 1.0, "normal", torch.Generator().manual_seed(7)), g_x)
    half = mix(g_x, 0.5, "normal", torch.Generator().manual_seed(7))
    assert torch.allclose(half, 0.5 * g_r + 0.5 * g_x)


def test_mix_he_scales_random_part_and_matches_the_seed_norm():
    g_x = F.normalize(torch.rand(200, 1, 7, 7).flatten(1), dim=1).view(200, 1, 7, 7)
    r = mix(g_x, 0.0, "he", torch.Generator().manual_seed(0))
    assert abs(r.std().item() - (2 / 49) ** 0.5) < 0.01
    x = mix(g_x, 1.0, "he", torch.Generator().manual_seed(0))
    assert torch.allclose(x.flatten(1).norm(dim=1), torch.full((200,), 2**0.5))


def test_align_with_stride_gives_each_output_the_cell_around_its_receptive_fields_centre():
    a = torch.arange(1.0, 10.0).view(1, 3, 3)
    out = align(a, kernel_size=3, stride=2, size=(8, 8))  # 8x8 input, 3x3 conv, stride 2 -> 3x3 output
    # output (i, j) covers input rows 2i..2i+2, centred on 2i+1: it stands for rows 2i+1..2i+2
    assert torch.equal(out[0, 1:3, 1:3], torch.ones(2, 2)) and torch.equal(out[0, 5:7, 5:7], torch.full((2, 2), 9.0))
    assert out[0, 3, 5] == 6 and out[0, 0].sum() == out[0, 7].sum() == out[0, :, 7].sum() == 0  # no cell reaches row 7
    # a 1x1 stride-2 shortcut: output i covers input pixel 2i and stands for the skipped 2i+1 too
    assert torch.equal(align(torch.tensor([[[1.0, 2.0], [3.0, 4.0]]]), 1, 2, (4, 4))[0, 0], torch.tensor([1.0, 1.0, 2.0, 2.0]))


def test_a_strided_convs_seed_filter_is_the_window_around_the_weakly_answered_receptive_field():
    prev = torch.zeros(1, 1, 9, 9)
    prev[0, 0, 4:7, 4:7] = 1.0  # a bright 3x3 square
    act = torch.zeros(1, 1, 4, 4)  # 3x3 conv, stride 2: (9 - 3) // 2 + 1 = 4
    act[0, 0, 2, 2] = 1.0  # output (2, 2): receptive field rows and columns 4..6, centre (5, 5), cell 5..6
    g_x, score = seed_filters(prev, act, 3, stride=2, theta=10.0, epsilon=0.0, radius=0)  # nothing counts as represented
    assert score.item() == 1.0
    expected = torch.zeros(3, 3)
    expected[1:, 1:] = 0.5  # the seed gated by the cell (5..6, 5..6), in the first window of largest energy (4..6), unit norm
    assert torch.equal(g_x[0, 0], expected)
    with pytest.raises(ValueError, match="not the valid 3x3 convolution with stride 2"):
        seed_filters(prev, torch.zeros(1, 1, 7, 7), 3, stride=2, theta=1.0, epsilon=0.0, radius=0)


def test_a_padded_strided_conv_maps_its_first_output_to_the_padded_corner():
    conv = nn.Conv2d(1, 1, 3, stride=2, padding=1, bias=False)
    nn.init.ones_(conv.weight)
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 0, 0] = 1.0  # a bright corner pixel: in the padded input at (1, 1), the centre of output (0, 0)'s receptive field
    prev, act = layer_io(nn.Sequential(conv), conv, x)
    assert prev.shape == (1, 1, 10, 10) and act.shape == (1, 1, 4, 4) and prev[0, 0, 1, 1] == 1
    g_x, score = seed_filters(prev, act, 3, stride=2, theta=10.0, epsilon=0.0, radius=0)
    assert score.item() == 1.0 and torch.equal(g_x[0, 0], torch.tensor([[0.0, 0, 0], [0, 1, 0], [0, 0, 0]]))
