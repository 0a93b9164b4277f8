"""The 3D builders' inflation options: stem max-pool, replicate temporal padding."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from pain_lib.models import (
    SameConv3d,
    count_parameters,
    get_model,
    model_args,
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
