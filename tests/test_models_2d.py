"""2D backbones in the registry (family "image"): interface, heads, gradients, parameter
counts, input channels, and weights from the local cache only."""

from __future__ import annotations

import inspect

import pytest
import timm
import torch
import torch.nn as nn
import torchvision

from pain_lib.models import (
    COMMON_ARGS,
    FAMILIES,
    IMAGE_COMMON_ARGS,
    XCEPTION_TIMM_NAME,
    ImageNet,
    count_parameters,
    get_model,
    list_models,
    min_input_size,
    model_args,
    model_builder,
    model_family,
    torchvision_cache_path,
)

pytestmark = pytest.mark.usefixtures("one_thread")

IMAGE_MODELS = [
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "vgg16", "googlenet", "inception_v3",
    "efficientnet_b0", "efficientnet_v2_s", "vit_b_16", "swin_t", "xception", "resnet2d",
]
#: smallest convenient input per model (architecture limits, see pain_lib.models.image_nets)
SIZE = {"inception_v3": 75, "xception": 48}
#: builder arguments for the tests (ViT at the test's input size)
CFG = {"vit_b_16": {"image_size": 32}, "resnet2d": {"depth": 26, "base_width": 8}}
#: the width argument of each family that can be narrowed, and a narrow value for the tests
WIDTH_ARG = {**{f"resnet{d}": ("width", 8) for d in (18, 34, 50, 101, 152)}, "vgg16": ("width", 8),
             "efficientnet_b0": ("width_mult", 0.25), "efficientnet_v2_s": ("width_mult", 0.125),
             "resnet2d": ("base_width", 8)}
#: the smallest input size (H = W) each model accepts
MIN_SIZE = {**{f"resnet{d}": 1 for d in (18, 34, 50, 101, 152)}, "vgg16": 32, "googlenet": 15, "inception_v3": 75,
            "efficientnet_b0": 1, "efficientnet_v2_s": 1, "vit_b_16": 16, "swin_t": 4, "xception": 7, "resnet2d": 1}


def _reference(name: str) -> nn.Module:
    """The unmodified torchvision / timm classifier the registered model wraps."""
    if name == "xception":
        return timm.create_model(XCEPTION_TIMM_NAME)
    if name == "resnet2d":  # timm's ResNet with the 3D nets' blocks and width, with its classifier
        from timm.models.resnet import Bottleneck, ResNet

        return ResNet(Bottleneck, [2, 2, 2, 2], stem_width=8, channels=(8, 16, 32, 64))
    kwargs = {"googlenet": {"aux_logits": False, "init_weights": True},
              "inception_v3": {"aux_logits": False, "init_weights": True}}.get(name, CFG.get(name, {}))
    return torchvision.models.get_model(name, weights=None, **kwargs)


# ---------------------------------------------------------------- registry
def test_registry_families():
    image, video = set(list_models("image")), set(list_models("video"))
    assert image == set(IMAGE_MODELS)
    assert video >= {"c3d", "r3d", "r2plus1d", "res3d", "scn", "vgg3d", "inception3d"}
    assert not image & video and set(list_models()) == image | video | {"image_sequence"} | set(list_models("dual-branch"))
    assert all(model_family(n) == "image" for n in image) and all(model_family(n) == "video" for n in video)
    assert FAMILIES == {"video": COMMON_ARGS, "image": IMAGE_COMMON_ARGS, "image-sequence": {}, "dual-branch": {}}
    assert list_models("dual-branch") == ["hrg_dual"]
    assert list_models("image-sequence") == ["image_sequence"]
    assert set(COMMON_ARGS) == {"head", "num_outputs", "dropout", "head_hidden", "zero_init_residual"}
    with pytest.raises(ValueError, match="families: video, image"):
        list_models("audio")
    with pytest.raises(ValueError, match="registered models"):
        model_family("resnet9000")


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_image_builder_args(name):
    sig = inspect.signature(model_builder(name))
    for p in sig.parameters.values():
        assert p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD), f"{name}.{p.name} is not keyword-only"
        if p.kind is p.KEYWORD_ONLY:
            assert p.annotation is not p.empty, f"{name}.{p.name} has no type annotation"
    args = model_args(name)
    assert set(args) >= set(IMAGE_COMMON_ARGS)
    assert not set(args) & {"head_hidden", "zero_init_residual"}  # video-only arguments
    assert ("base_width" in args) == (name == "resnet2d")
    assert ("image_size" in args) == (name == "vit_b_16")
    width = {a for a in ("width", "width_mult", "base_width") if a in args}
    assert width == ({WIDTH_ARG[name][0]} if name in WIDTH_ARG else set())
    assert args.get("width", 64) == 64 and args.get("width_mult", 1.0) == 1.0  # defaults: torchvision's widths


def test_image_model_errors_are_clear():
    with pytest.raises(TypeError, match="valid arguments: dropout, head, in_channels, num_outputs, weights, width"):
        get_model("resnet18", base_width=8)
    with pytest.raises(ValueError, match="unknown head 'frame'; valid heads: regression, classification, none"):
        get_model("resnet18", head="frame")
    with pytest.raises(ValueError, match="weights must be one of"):
        get_model("resnet18", weights="imagenet21k")
    net = get_model("resnet18")
    with pytest.raises(ValueError, match="unknown head"):
        net.reset_head(head="frame")
    with pytest.raises(ValueError, match=r"image batch \(B, C, H, W\)"):
        net(torch.randn(1, 3, 2, 32, 32))


# ---------------------------------------------------------------- every 2D model
@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_image_model_forward_backward_heads(name):
    torch.manual_seed(0)
    model = get_model(name, **CFG.get(name, {}))
    assert isinstance(model, ImageNet) and model.model_spec == {"name": name, "cfg": CFG.get(name, {})}
    assert model.weights_provenance["source"] == "random-init"
    for m in model.modules():  # stochastic depth (Swin, EfficientNet) may drop a block for the whole batch
        if isinstance(m, torchvision.ops.StochasticDepth):
            m.p = 0.0
        if isinstance(m, nn.BatchNorm2d):  # zero-initialised last BN of a residual block (timm) blocks gradients
            nn.init.ones_(m.weight)
    s = SIZE.get(name, 32)
    x = torch.randn(2, 3, s, s)
    y = model(x)
    assert y.shape == (2,) and torch.isfinite(y).all()
    y.pow(2).sum().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{name}: {pname} got no gradient"
        size = p.grad.abs().sum()  # one pass over the gradient: finite iff every entry is
        assert torch.isfinite(size), f"{name}: {pname} has a non-finite gradient"
        assert size > 0, f"{name}: {pname} has an all-zero gradient"

    model.eval()
    with torch.no_grad():
        feats = model.forward_features(x)
        assert feats.shape[0] == 2 and feats.dim() == (3 if name == "vit_b_16" else 4)
        pooled = model.forward_head(feats, pre_logits=True)
        assert pooled.shape == (2, model.num_features) == (2, model.head.num_features)
        y0 = model(x)
        torch.testing.assert_close(model.forward_head(feats), y0)
        model.head.set_target_scale(2.0, 3.0)  # regression predicts in target units
        torch.testing.assert_close(model.forward_head(feats), 3.0 * y0 + 2.0)
        assert model.reset_head(head="classification", num_outputs=3).forward_head(feats).shape == (2, 3)
        torch.testing.assert_close(model.reset_head(head="none").forward_head(feats), pooled)
    assert model.model_spec["cfg"]["head"] == "none"


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_image_model_parameter_count(name):
    """The torchvision/timm model's count, minus its classifier (last Linear), plus the head."""
    with torch.device("meta"):
        ref = _reference(name)
        fc = [m for m in ref.modules() if isinstance(m, nn.Linear)][-1]
        base = count_parameters(ref) - count_parameters(fc)
        for head, n in (("regression", 1), ("classification", 7), ("none", 0)):
            model = get_model(name, head=head, num_outputs=max(n, 1), **CFG.get(name, {}))
            assert model.num_features == fc.in_features
            assert count_parameters(model) == base + n * fc.in_features + n


@pytest.mark.parametrize("name", ["resnet18", "googlenet", "xception"])
def test_in_channels_adapts_the_first_conv(name):
    torch.manual_seed(0)
    rgb = get_model(name, head="none")
    torch.manual_seed(0)
    gray = get_model(name, head="none", in_channels=1)
    first = lambda m: next(c for c in m.modules() if isinstance(c, nn.Conv2d))  # noqa: E731
    assert first(gray).in_channels == 1
    torch.testing.assert_close(first(gray).weight, first(rgb).weight.sum(1, keepdim=True))  # timm's rule
    s = SIZE.get(name, 32)
    with torch.no_grad():
        assert gray.eval()(torch.randn(2, 1, s, s)).shape == (2, gray.num_features)
    two = get_model(name, in_channels=2)
    assert first(two).in_channels == 2 and two(torch.randn(2, 2, s, s)).shape == (2,)


# ---------------------------------------------------------------- weights: local cache only
@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    import torch.hub

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))

    def no_download(*a, **k):  # pragma: no cover - the test fails if called
        raise AssertionError("tried to download")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    return tmp_path


def test_auto_weights_are_random_when_not_cached(empty_hub):
    net = get_model("resnet18", weights="auto")
    assert net.weights_provenance["source"] == "random-init" and "not in the local cache" in net.weights_provenance["note"]
    with pytest.raises(FileNotFoundError, match="not in the local cache: expected .*resnet18-f37072fd.pth"):
        get_model("resnet18", weights="imagenet")
    assert get_model("xception", weights="auto").weights_provenance["source"] == "random-init"


def test_auto_weights_load_from_the_torchvision_cache(empty_hub):
    path, label = torchvision_cache_path("resnet18")
    assert path.parent == empty_hub / "checkpoints"
    path.parent.mkdir()
    torch.manual_seed(123)
    ref = torchvision.models.resnet18().eval()
    torch.save(ref.state_dict(), path)
    net = get_model("resnet18", weights="auto", head="none").eval()
    assert net.weights_provenance == {"source": "torchvision-cache", "weights": label, "path": str(path)}
    x = torch.randn(2, 3, 32, 32)
    ref.fc = nn.Identity()
    with torch.no_grad():
        torch.testing.assert_close(net(x), ref(x))
    assert net.model_spec["cfg"]["weights"] == "auto"


def test_auto_weights_load_from_the_timm_cache(empty_hub):
    cfg = timm.models.get_pretrained_cfg(XCEPTION_TIMM_NAME)
    path = empty_hub / "checkpoints" / cfg.url.rsplit("/", 1)[-1]
    path.parent.mkdir()
    torch.manual_seed(7)
    ref = timm.create_model(XCEPTION_TIMM_NAME).eval()
    torch.save(ref.state_dict(), path)
    net = get_model("xception", weights="imagenet", head="none").eval()
    assert net.weights_provenance["source"] == "timm-cache" and net.weights_provenance["path"] == str(path)
    x = torch.randn(2, 3, 48, 48)
    with torch.no_grad():
        torch.testing.assert_close(net(x), ref.forward_head(ref.forward_features(x), pre_logits=True))


# ---------------------------------------------------------------- input sizes and widths
@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_forward_at_the_min_input_size_with_a_narrow_width(name):
    s = min_input_size(name)
    assert s == MIN_SIZE[name]
    cfg = {"image_size": s} if name == "vit_b_16" else dict(CFG.get(name, {}))
    if name in WIDTH_ARG:
        cfg[WIDTH_ARG[name][0]] = WIDTH_ARG[name][1]
    torch.manual_seed(0)
    model = get_model(name, head="none", **cfg).eval()
    assert model.model_spec["cfg"] == {"head": "none", **cfg}
    with torch.no_grad():
        y = model(torch.randn(1, 3, s, s))
        assert y.shape == (1, model.num_features) and torch.isfinite(y).all()
        if s > 1:  # one pixel smaller fails (ViT: any size but its image_size)
            with pytest.raises((RuntimeError, ValueError, AssertionError)):
                model(torch.randn(1, 3, s - 1, s - 1))


def test_min_input_size_errors():
    with pytest.raises(ValueError, match="records no minimum input size; models that do: efficientnet_b0"):
        min_input_size("r3d")
    with pytest.raises(ValueError, match="registered models"):
        min_input_size("resnet9000")
    from pain_lib.models import register_model

    with pytest.raises(ValueError, match="min_size must be a positive int"):
        register_model(lambda **k: None, name="never_registered", family="image", min_size=0)


def test_width_keeps_the_torchvision_layout_and_scales_the_parameters():
    with torch.device("meta"):
        ref = torchvision.models.resnet50()
        full, narrow = get_model("resnet50", width=64, head="none"), get_model("resnet50", width=16, head="none")
        assert count_parameters(full) == count_parameters(ref) - count_parameters(ref.fc)
        assert 15 < count_parameters(full) / count_parameters(narrow) < 17  # ~ (64 / 16)²
        assert narrow.num_features == 4 * 8 * 16
        names = lambda m: [(n, type(c).__name__) for n, c in m.trunk.named_modules()]  # noqa: E731
        assert names(narrow) == names(full)
        vgg, vgg8 = get_model("vgg16", head="none"), get_model("vgg16", width=8, head="none")
        assert names(vgg8) == names(vgg) and vgg8.num_features == 64 * 8
        assert 60 < count_parameters(vgg) / count_parameters(vgg8) < 68  # ~ (64 / 8)²
        eff, eff4 = get_model("efficientnet_b0", head="none"), get_model("efficientnet_b0", width_mult=0.25, head="none")
        assert names(eff4) == names(eff) and count_parameters(eff4) < count_parameters(eff) / 4
    assert get_model("resnet18", width=8).model_spec["cfg"] == {"width": 8}
    for name, arg, value in (("resnet18", "width", 8), ("vgg16", "width", 8), ("efficientnet_b0", "width_mult", 0.5)):
        with pytest.raises(ValueError, match=rf"{name}: ImageNet weights exist only at full width \({arg}="):
            get_model(name, weights="imagenet", **{arg: value})


def test_narrow_width_with_auto_weights_is_random(empty_hub):
    path, _ = torchvision_cache_path("resnet18")
    path.parent.mkdir()
    torch.save(torchvision.models.resnet18().state_dict(), path)  # full-width weights in the cache
    assert get_model("resnet18", weights="auto").weights_provenance["source"] == "torchvision-cache"
    net = get_model("resnet18", weights="auto", width=8)
    assert net.weights_provenance["source"] == "random-init" and "not for this variant" in net.weights_provenance["note"]
