"""The 3D builders' inflation options (stem max-pool, replicate temporal padding) and
I3D-style 2D -> 3D weight inflation: a static clip through the inflated 3D network gives the
2D network's output on its frame."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from pain_lib.models import (
    SameConv3d,
    count_parameters,
    get_model,
    inflate_2d_to_3d,
    model_args,
    set_temporal_padding,
)

pytestmark = pytest.mark.usefixtures("one_thread")


# ---------------------------------------------------------------- temporal padding of 3D convs
def test_replicate_temporal_padding_is_explicit_replicate_then_zeros():
    torch.manual_seed(0)
    conv = SameConv3d(3, 4, (3, 3, 3), stride=(2, 1, 1), padding=(1, 1, 1), bias=True, temporal_padding="replicate")
    x = torch.randn(2, 3, 5, 6, 6)
    ref = F.conv3d(F.pad(F.pad(x, (0, 0, 0, 0, 1, 1), mode="replicate"), (1, 1, 1, 1)), conv.weight, conv.bias,
                   stride=(2, 1, 1))
    torch.testing.assert_close(conv(x), ref)
    static = x[:, :, :1].expand(-1, -1, 5, -1, -1)
    y = conv(static)
    assert torch.equal(y, y[:, :, :1].expand_as(y))  # a static clip stays static
    conv.temporal_padding = "zeros"
    assert not torch.allclose(conv(static)[:, :, 0], conv(static)[:, :, 1])  # zeros: the first frame differs
    with pytest.raises(ValueError, match="temporal_padding must be one of"):
        conv.temporal_padding = "reflect"


def test_replicate_padding_with_a_kernel_longer_than_the_clip():
    torch.manual_seed(0)
    conv = SameConv3d(2, 2, (13, 3, 3), padding=(6, 1, 1), bias=False, temporal_padding="replicate")
    x = torch.randn(1, 2, 4, 5, 5, requires_grad=True)
    y = conv(x)
    assert y.shape == (1, 2, 4, 5, 5)
    y.square().sum().backward()
    assert torch.isfinite(conv.weight.grad).all() and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("name,depth", [("r3d", 18), ("res3d", 26)])
def test_inflation_options_of_the_3d_builders(name, depth):
    args = model_args(name)
    assert args["stem_pool"] is False and args["temporal_padding"] == "zeros"
    default = get_model(name, depth=depth, base_width=4).eval()
    assert all(m.temporal_padding == "zeros" for m in default.modules() if isinstance(m, SameConv3d))
    assert not any(isinstance(m, nn.MaxPool3d) for m in default.stem)
    net = get_model(name, depth=depth, base_width=4, stem_pool=True, temporal_padding="replicate").eval()
    convs = [m for m in net.modules() if isinstance(m, SameConv3d)]
    assert convs and all(m.temporal_padding == "replicate" for m in convs)
    assert [type(m) for m in net.stem][-1] is nn.MaxPool3d and "max-pool" in net.stem.describe()
    assert count_parameters(net) == count_parameters(default)
    x = torch.randn(1, 3, 4, 32, 32)
    with torch.no_grad():
        assert net.forward_features(x).shape[-1] == default.forward_features(x).shape[-1] // 2
    with pytest.raises(ValueError, match="temporal_padding must be one of"):
        get_model(name, depth=depth, base_width=4, temporal_padding="circular")


# ---------------------------------------------------------------- 2D -> 3D inflation
def _randomise_batchnorm(net: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial BatchNorm statistics and affine parameters, so copying them matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.copy_(0.1 * torch.randn(c, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(c, generator=g))
                m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
    return net


def _static_clip(x: torch.Tensor, frames: int) -> torch.Tensor:
    return x.unsqueeze(2).expand(-1, -1, frames, -1, -1).contiguous()


#: the SSD paper's Table 3 pairs: (2D name, 2D cfg, 3D name, 3D cfg, frames), at the smallest
#: width both sides allow (a narrow 2D ``width`` = the 3D ``base_width``; GoogLeNet: fixed, 64)
INFLATION_PAIRS = [
    ("resnet18", {"width": 8}, "r3d", {"depth": 18, "base_width": 8, "stem_pool": True}, 4),
    ("resnet50", {"width": 8}, "res3d", {"depth": 50, "base_width": 8, "stem_pool": True}, 4),
    ("vgg16", {"width": 8}, "vgg3d",
     {"base_width": 8, "batch_norm": False, "pool_ceil_mode": False, "pool5": True, "head_hidden": ()}, 16),
    ("googlenet", {}, "inception3d", {"bn_eps": 1e-3, "pool_layout": "torchvision"}, 4),
]


@pytest.mark.parametrize("name2d,cfg2d,name3d,cfg3d,frames", INFLATION_PAIRS, ids=[p[0] for p in INFLATION_PAIRS])
def test_static_clip_through_inflated_net_equals_2d_net(name2d, cfg2d, name3d, cfg3d, frames):
    torch.manual_seed(0)
    net2d = _randomise_batchnorm(get_model(name2d, head="none", **cfg2d)).eval()
    net3d = get_model(name3d, temporal_padding="replicate", head="none", **cfg3d).eval()
    assert inflate_2d_to_3d(net2d, net3d) is net3d
    x = torch.randn(2, 3, 32, 32)
    clip = _static_clip(x, frames)
    with torch.no_grad():
        f2 = net2d.forward_features(x)  # (B, C, h, w)
        f3 = net3d.forward_features(clip)  # (B, C, T', h, w): every time step is the 2D map
        scale = float(f2.abs().max())
        assert f3.dim() == 5 and f3.shape[:2] == f2.shape[:2] and f3.shape[3:] == f2.shape[2:]
        torch.testing.assert_close(f3, f2.unsqueeze(2).expand_as(f3), atol=1e-5 * scale, rtol=1e-4)
        pooled = net3d(clip)  # global average pool (VGG3D without fc6/fc7)
        assert pooled.shape == (2, f2.shape[1])
        torch.testing.assert_close(pooled, f2.mean(dim=(2, 3)), atol=1e-5 * scale, rtol=1e-4)
        if name2d != "vgg16":  # the 2D pooled features are the global average too (VGG: fc7)
            torch.testing.assert_close(pooled, net2d(x), atol=1e-5 * scale, rtol=1e-4)
        # zero padding in time (the builders' default) breaks it at the clip's ends
        set_temporal_padding(net3d, "zeros")
        assert (net3d.forward_features(clip) - f3).abs().max() > 0.05 * (f2.max() - f2.min())


def test_layout_options_of_vgg3d_and_inception3d_keep_the_defaults():
    args = model_args("vgg3d")
    assert (args["pool_ceil_mode"], args["pool5"], args["temporal_padding"]) == (True, False, "zeros")
    args = model_args("inception3d")
    assert (args["bn_eps"], args["pool_layout"], args["temporal_padding"]) == (1e-5, "i3d", "zeros")
    with torch.device("meta"):
        for name, options in (
            ("vgg3d", {"batch_norm": False, "pool_ceil_mode": False, "pool5": True, "temporal_padding": "replicate"}),
            ("inception3d", {"bn_eps": 1e-3, "pool_layout": "torchvision", "temporal_padding": "replicate"}),
        ):
            default, tv = get_model(name, base_width=8), get_model(name, base_width=8, **options)
            n_bn = "batch_norm" in options and count_parameters(get_model(name, base_width=8, batch_norm=False))
            assert count_parameters(tv) == (n_bn or count_parameters(default))
    vgg = get_model("vgg3d", base_width=4, pool5=True)
    assert list(vgg.stages.named_children())[-1][0] == "pool5" and vgg.stages.pool5[0].describe() == "max-pool 2×2×2"
    bns = [m for m in get_model("inception3d", base_width=4, bn_eps=1e-3).modules() if isinstance(m, nn.BatchNorm3d)]
    assert bns and all(m.eps == 1e-3 for m in bns)
    with pytest.raises(ValueError, match="pool_layout must be one of"):
        get_model("inception3d", pool_layout="tf")


def test_inflation_names_eps_and_ceil_mode_misfits():
    googlenet = get_model("googlenet", head="none")
    with pytest.raises(ValueError, match=r"2D 'trunk.conv1.bn' .* does not fit 3D 'stem.1' .*eps 0.001 vs 1e-05.*bn_eps"):
        inflate_2d_to_3d(googlenet, get_model("inception3d", head="none"))
    with pytest.raises(ValueError, match=r"2D 'trunk.maxpool1' .* does not fit 3D 'stem.3' .*spatial padding \(0, 0\) vs \(1, 1\); "
                                         r"ceil_mode True vs False.*pool_layout='torchvision'"):
        inflate_2d_to_3d(googlenet, get_model("inception3d", bn_eps=1e-3, head="none"))
    vgg = get_model("vgg16", width=8, head="none")
    with pytest.raises(ValueError, match=r"2D 'trunk.features.4' .* does not fit 3D 'stages.conv2.0.pool' "
                                         r".*ceil_mode False vs True.*pool_ceil_mode=False"):
        inflate_2d_to_3d(vgg, get_model("vgg3d", base_width=8, batch_norm=False, head="none"))
    with pytest.raises(ValueError, match=r"first 2D layer without a partner: 'trunk.features.30'.*pool5=True"):
        inflate_2d_to_3d(vgg, get_model("vgg3d", base_width=8, batch_norm=False, pool_ceil_mode=False, head="none"))
    with pytest.raises(ValueError, match=r"2D 'trunk.features.0' .* does not fit 3D 'stem.0' .*\(8, 3\) vs \(16, 3\)"):
        inflate_2d_to_3d(vgg, get_model("vgg3d", base_width=16, batch_norm=False, head="none"))


def test_inflation_with_the_classifier_gives_the_2d_logits():
    torch.manual_seed(0)
    net2d = _randomise_batchnorm(torchvision.models.resnet18()).eval()  # a plain torchvision model, fc 1000
    net3d = get_model("r3d", stem_pool=True, temporal_padding="replicate", head="classification", num_outputs=1000)
    inflate_2d_to_3d(net2d, net3d.eval(), head=True)
    torch.testing.assert_close(net3d.head.fc.weight, net2d.fc.weight)
    conv2d, conv3d = net2d.layer1[0].conv1.weight, net3d.stages.conv2[0].conv1[0].weight
    torch.testing.assert_close(conv3d, conv2d.unsqueeze(2).expand_as(conv3d) / 3)  # I3D: repeat, divide by t
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        y2, y3 = net2d(x), net3d(_static_clip(x, 4))
    assert (y3 - y2).abs().max() <= 1e-4 * y2.abs().max()


def test_inflation_errors_name_the_first_misfit():
    net2d = torchvision.models.resnet18()
    with pytest.raises(ValueError, match=r"2D 'maxpool' \(MaxPool2d\) meets 3D 'stages.conv2.0.conv1.0'.*stem_pool=True"):
        inflate_2d_to_3d(net2d, get_model("r3d", base_width=64))  # the library's R3D has no stem max-pool
    with pytest.raises(ValueError, match=r"2D 'layer2.0.conv1' .* does not fit 3D 'stages.conv2.2.conv1.0'"):
        inflate_2d_to_3d(net2d, get_model("r3d", depth=34, stem_pool=True))
    with pytest.raises(ValueError, match=r"2D 'fc' .* does not fit 3D 'head.fc' .*shape \(out, in\) \(1000, 512\) vs \(1, 512\)"):
        inflate_2d_to_3d(net2d, get_model("r3d", stem_pool=True), head=True)
    with pytest.raises(ValueError, match=r"2D 'conv1' .* does not fit 3D 'stem.0' .*spatial kernel \(7, 7\) vs \(3, 3\)"):
        inflate_2d_to_3d(net2d, get_model("r3d", stem_pool=True, stem_kernel=(3, 3, 3)))
    with pytest.raises(ValueError, match=r"first 2D layer without a partner: 'fc'"):
        inflate_2d_to_3d(net2d, get_model("r3d", stem_pool=True, head="none"), head=True)
    with pytest.raises(ValueError, match=r"2D module '1' \(GroupNorm\) holds parameters \(weight, bias\)"):
        inflate_2d_to_3d(nn.Sequential(nn.Conv2d(3, 8, 3), nn.GroupNorm(2, 8)), get_model("r3d", stem_pool=True))
