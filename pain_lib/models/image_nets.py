"""2D image backbones (torchvision, and timm for Xception) behind one wrapper, :class:`ImageNet`.

Pick them by name, like the video networks (family ``"image"`` of the registry)::

    from pain_lib.models import get_model, list_models
    net = get_model("resnet50", weights="auto")          # PSPI regression head, (B, 3, H, W) -> (B,)
    feats = get_model("vgg16", head="none")               # (B, 3, H, W) -> (B, 4096) pooled features
    list_models("image")

==================  ===================================  ===========  =======================
name                network                              source       input size (H = W)
==================  ===================================  ===========  =======================
``resnet18`` ...    ResNet-18/34/50/101/152              torchvision  any (>= 1 px)
``resnet152``
``vgg16``           VGG-16; pooled features: fc7 (4096)  torchvision  >= 32 px
``googlenet``       GoogLeNet / Inception-v1 (no aux     torchvision  >= 15 px
                    classifiers)
``inception_v3``    Inception-v3 (no aux classifier)     torchvision  >= 75 px
``efficientnet_b0`` EfficientNet-B0                      torchvision  any (>= 1 px)
``vit_b_16``        ViT-B/16                             torchvision  exactly ``image_size``
                                                                      (default 224; a multiple
                                                                      of 16, >= 16)
``swin_t``          Swin-T                               torchvision  >= 4 px (windows are
                                                                      padded)
``xception``        Xception (Chollet 2017): timm's      timm         >= 7 px
                    ``legacy_xception``
==================  ===================================  ===========  =======================

The smallest size is recorded in the registry: ``min_input_size(name)``
(:func:`~pain_lib.models.min_input_size`; the forward pass fails one pixel below it).

Widths (keyword-only, default the paper width; pretrained weights exist only there, so a narrow
width with ``weights="imagenet"`` is a ``ValueError`` and ``"auto"`` gives random init):

* ``resnet18`` ... ``resnet152``, ``vgg16``: ``width`` (default 64), the channels of the first
  stage; every channel count scales with ``width / 64`` (stages ``w, 2w, 4w, 8w``; ResNet-50+
  outputs ``4×``; VGG's fc6/fc7 ``64·w``, 4096 at 64), so parameters scale with
  ``(width / 64)²``. Same module names and order as torchvision's (the 2D -> 3D inflation pairs
  ``width=w`` with the 3D builders' ``base_width=w``).
* ``efficientnet_b0``: ``width_mult`` (default 1.0), torchvision's EfficientNet width
  multiplier (channels rounded to multiples of 8).
* ``resnet2d``: ``base_width`` (see :mod:`pain_lib.models.resnet2d`).
* ``googlenet``, ``inception_v3``, ``vit_b_16``, ``swin_t``, ``xception``: fixed width
  (torchvision / timm build them at one width; they cannot be narrowed here).

Pretrained weights were trained at 224 px (Inception-v3 and Xception: 299 px); a training-mode
BatchNorm needs more than one value per channel, so very small inputs need batches > 1.

Every :class:`ImageNet` has the interface of :class:`~pain_lib.models.VideoNet`:
``forward_features(x)`` (the last feature map ``(B, C, h, w)``; ViT: the tokens ``(B, 1 + N, D)``),
``forward_head(feats, pre_logits=False)``, ``num_features`` (width of the pooled features),
``head`` (a :class:`~pain_lib.models.Head`: ``set_target_scale`` for regression), ``reset_head``.
The architecture's own classifier (its last ``Linear``, and the dropout right before it) is
replaced by the head; everything else (VGG's fc6/fc7, ViT's class-token pooling) is kept, so the
parameter count is the torchvision/timm model's minus its classifier plus the head.

Weights never download (``weights`` argument, see :data:`~pain_lib.models.IMAGE_COMMON_ARGS`):
``"auto"`` uses the library's default weights (torchvision's ``DEFAULT``, timm's default
pretrained tag) only when the file is already in the local cache, else random initialisation;
``model.weights_provenance`` says which.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from .registry import register_model
from .video_net import Head, HeadedNet, init_weights

__all__ = [
    "ImageNet",
    "IMAGE_HEADS",
    "WEIGHTS",
    "torchvision_net",
    "narrow_torchvision",
    "timm_net",
    "torchvision_cache_path",
    "XCEPTION_TIMM_NAME",
]

#: head kinds of 2D networks (no per-frame head: an image has no time axis)
IMAGE_HEADS = ("regression", "classification", "none")
#: values of the ``weights`` argument
WEIGHTS = ("none", "auto", "imagenet")
#: timm's name of the original Xception (Chollet 2017, ported from Keras; timm's ``xception41``
#: ... ``xception71`` are DeepLab's modified "aligned" Xceptions)
XCEPTION_TIMM_NAME = "legacy_xception"
#: torchvision builder arguments that pretrained weights fix themselves (passing them with weights
#: is an error there): random-init choices of GoogLeNet / Inception-v3, ViT's image size
_SET_BY_WEIGHTS = ("aux_logits", "init_weights", "image_size")


def torchvision_cache_path(name: str) -> tuple[Path, str]:
    """Where torchvision would cache ``name``'s default weights, and the weights' name.

    Only computes the path (``torch.hub.get_dir()/checkpoints/<file of the weights URL>``);
    downloads nothing.
    """
    import torchvision

    weights = torchvision.models.get_model_weights(name).DEFAULT
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url), str(weights)


def _cached_or_random(weights: str, path: Path | None, label: str) -> Path | None:
    """``path`` when ``weights`` asks for pretrained weights and the file is cached, else ``None``
    (random initialisation; ``weights="imagenet"`` raises instead)."""
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS}, got {weights!r}")
    if weights == "none":
        return None
    if path is not None and path.is_file():
        return path
    if weights == "imagenet":
        raise FileNotFoundError(
            f"{label} not in the local cache: expected {path}. Nothing is downloaded at run time; "
            "copy the file there, or use weights='auto' (random init when missing) or 'none'."
        )
    return None


def _provenance(weights: str, path: Path | None, source: str, label: str) -> dict[str, Any]:
    if path is not None:
        return {"source": source, "weights": label, "path": str(path)}
    note = "random initialisation requested" if weights == "none" else f"{label} not in the local cache"
    return {"source": "random-init", "weights": None, "note": note}


# ---------------------------------------------------------------- how to run each trunk
@dataclass(frozen=True)
class _Layout:
    """How a torchvision classifier runs as ``features -> pooled features``.

    ``features(m, x)``: ``(B, 3, H, W)`` -> feature map / tokens; ``pool(m, f)`` -> ``(B, D)``
    (the pre-logits: the classifier's input); ``classifier``: dotted path of the last ``Linear``,
    replaced by ``nn.Identity``.
    """

    features: Callable[[nn.Module, torch.Tensor], torch.Tensor]
    pool: Callable[[nn.Module, torch.Tensor], torch.Tensor]
    classifier: str


def _children_until(m: nn.Module, x: torch.Tensor, stop: str) -> torch.Tensor:
    """Run ``m``'s children in order up to ``stop`` (GoogLeNet / Inception-v3: no aux heads)."""
    x = m._transform_input(x)
    for name, child in m.named_children():
        if name == stop:
            return x
        if not name.startswith(("aux", "AuxLogits")):
            x = child(x)
    raise RuntimeError(f"{type(m).__name__} has no child {stop!r}")


def _vit_tokens(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
    x = m._process_input(x)  # (B, N, D); checks the image size
    return m.encoder(torch.cat([m.class_token.expand(x.shape[0], -1, -1), x], dim=1))


def _avg(m: nn.Module, f: torch.Tensor) -> torch.Tensor:
    return torch.flatten(m.avgpool(f), 1)


_LAYOUTS: dict[str, _Layout] = {
    "ResNet": _Layout(
        lambda m, x: m.layer4(m.layer3(m.layer2(m.layer1(m.maxpool(m.relu(m.bn1(m.conv1(x)))))))), _avg, "fc"
    ),
    "VGG": _Layout(lambda m, x: m.features(x), lambda m, f: m.classifier[:5](_avg(m, f)), "classifier.6"),
    "GoogLeNet": _Layout(lambda m, x: _children_until(m, x, "avgpool"), _avg, "fc"),
    "Inception3": _Layout(lambda m, x: _children_until(m, x, "avgpool"), _avg, "fc"),
    "EfficientNet": _Layout(lambda m, x: m.features(x), _avg, "classifier.1"),
    "VisionTransformer": _Layout(_vit_tokens, lambda m, f: m.heads(f[:, 0]), "heads.head"),
    "SwinTransformer": _Layout(lambda m, x: m.permute(m.norm(m.features(x))), _avg, "head"),
}


def _layout_of(trunk: nn.Module) -> str:
    if hasattr(trunk, "forward_head") and hasattr(trunk, "reset_classifier"):
        return "timm"
    for cls in type(trunk).__mro__:
        if cls.__name__ in _LAYOUTS and cls.__module__.startswith("torchvision."):
            return cls.__name__
    raise TypeError(
        f"cannot wrap a {type(trunk).__name__}: ImageNet knows timm models and torchvision's "
        f"{', '.join(_LAYOUTS)}"
    )


def _adapt_first_conv(trunk: nn.Module, in_channels: int) -> None:
    """Give the first ``Conv2d`` ``in_channels`` inputs, its weights adapted from the RGB ones
    (timm's ``adapt_input_conv``: summed for 1 channel, repeated and rescaled for more)."""
    from timm.models import adapt_input_conv

    name, conv = next((n, m) for n, m in trunk.named_modules() if isinstance(m, nn.Conv2d))
    new = nn.Conv2d(in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation,
                    conv.groups, conv.bias is not None, conv.padding_mode)
    with torch.no_grad():
        new.weight.copy_(adapt_input_conv(in_channels, conv.weight))
        if conv.bias is not None:
            new.bias.copy_(conv.bias)
    parent, _, attr = name.rpartition(".")
    setattr(trunk.get_submodule(parent), attr, new)
    if getattr(trunk, "transform_input", False):
        trunk.transform_input = False  # GoogLeNet/Inception-v3's per-RGB-channel re-normalisation


class ImageNet(HeadedNet):
    """A 2D network ``trunk -> pooled features -> head`` with :class:`~pain_lib.models.VideoNet`'s
    interface, around an unmodified torchvision or timm model (``self.trunk``; only its last
    classifier layer is replaced by ``nn.Identity``).

    Args:
        trunk: a torchvision ResNet / VGG / GoogLeNet / Inception3 / EfficientNet /
            VisionTransformer / SwinTransformer, or a timm model (its classifier is reset).
        head: ``regression`` (default; ``(B,)`` for one output, ``head.set_target_scale``),
            ``classification`` (logits ``(B, n)``) or ``none`` (pooled features ``(B, D)``).
        num_outputs, dropout: of the head; ``dropout`` replaces the architecture's own
            classifier dropout.
        weights_provenance: where the trunk's weights come from (kept as an attribute).

    Input ``(B, C, H, W)``.
    """

    head_kinds = IMAGE_HEADS

    def __init__(
        self,
        trunk: nn.Module,
        *,
        head: str = "regression",
        num_outputs: int = 1,
        dropout: float = 0.0,
        weights_provenance: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if head not in IMAGE_HEADS:
            raise ValueError(f"unknown head {head!r}; valid heads: {', '.join(IMAGE_HEADS)}")
        self.layout = _layout_of(trunk)
        if self.layout == "timm":
            trunk.reset_classifier(0)
            self.num_features = int(trunk.num_features)
        else:
            path = _LAYOUTS[self.layout].classifier
            fc = trunk.get_submodule(path)
            self.num_features = int(fc.in_features)
            parent, _, attr = path.rpartition(".")
            setattr(trunk.get_submodule(parent) if parent else trunk, attr, nn.Identity())
        self.trunk = trunk
        self.head = Head(self.num_features, kind=head, num_outputs=num_outputs, dropout=dropout)
        init_weights(self.head)
        self.weights_provenance = dict(weights_provenance or {})
        #: set by :func:`pain_lib.models.get_model`: ``{"name": ..., "cfg": {...}}`` (rebuilds the model)
        self.model_spec: dict[str, Any] | None = None

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, C', h, w)``, the last feature map (ViT: tokens ``(B, 1 + N, D)``)."""
        if self.layout == "timm":
            return self.trunk.forward_features(x)
        return _LAYOUTS[self.layout].features(self.trunk, x)

    def pool(self, feats: torch.Tensor) -> torch.Tensor:
        """Feature map / tokens -> pooled features ``(B, num_features)`` (the classifier's input:
        global average pool; VGG: + fc6/fc7; ViT: the class token)."""
        if self.layout == "timm":
            return self.trunk.forward_head(feats, pre_logits=True)
        return _LAYOUTS[self.layout].pool(self.trunk, feats)

    def forward_head(self, feats: torch.Tensor, *, pre_logits: bool = False) -> torch.Tensor:
        """Pool and apply the head; ``pre_logits=True`` returns the pooled features ``(B, D)``."""
        return self.head(self.pool(feats), pre_logits=pre_logits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"expected an image batch (B, C, H, W), got shape {tuple(x.shape)}")
        return self.forward_head(self.forward_features(x))


# ---------------------------------------------------------------- construction
def torchvision_net(
    name: str,
    *,
    weights: str = "none",
    in_channels: int = 3,
    head: str = "regression",
    num_outputs: int = 1,
    dropout: float = 0.0,
    trunk: nn.Module | None = None,
    **tv_kwargs: Any,
) -> ImageNet:
    """An :class:`ImageNet` around ``torchvision.models.get_model(name, **tv_kwargs)``.

    ``weights``: ``"none"`` random init; ``"auto"`` torchvision's ``DEFAULT`` weights if the file
    is already in the local torch hub cache (:func:`torchvision_cache_path`), else random;
    ``"imagenet"`` the same, but a missing file is an error. Never downloads. With weights, the
    builder gets torchvision's own arguments for them (e.g. GoogLeNet's ``transform_input``); a
    ViT ``image_size`` other than the weights' gets their position embeddings interpolated.
    Auxiliary classifiers (GoogLeNet, Inception-v3) are always removed.

    ``trunk``: a randomly initialised variant of ``name`` built by the caller (a narrow width,
    :func:`narrow_torchvision`) to use instead; torchvision has no weights for it, so
    ``weights="imagenet"`` is a ``ValueError`` and ``"auto"`` gives it as it is.
    """
    import torchvision

    path, label = torchvision_cache_path(name)
    variant = trunk is not None
    if variant:  # torchvision has no weights for it
        if weights not in WEIGHTS:
            raise ValueError(f"weights must be one of {WEIGHTS}, got {weights!r}")
        if weights == "imagenet":
            raise ValueError(f"{label} exist only for torchvision's own {name}, not for this variant "
                             "(e.g. a narrow width); use weights='none' or 'auto' (random init)")
        cached = None  # the caller's trunk, as built
    else:
        cached = _cached_or_random(weights, path, label)
        if cached is None:
            trunk = torchvision.models.get_model(name, weights=None, **tv_kwargs)
        else:  # the file is cached: torchvision loads it from there and downloads nothing
            fixed = {k: v for k, v in tv_kwargs.items() if k not in _SET_BY_WEIGHTS}  # torchvision sets these
            trunk = torchvision.models.get_model(name, weights=label, **fixed)
            size = tv_kwargs.get("image_size", getattr(trunk, "image_size", None))
            if size != getattr(trunk, "image_size", None):  # ViT at another size: interpolate the position embeddings
                from torchvision.models.vision_transformer import interpolate_embeddings

                state = interpolate_embeddings(size, trunk.patch_size, trunk.state_dict())
                trunk = torchvision.models.get_model(name, weights=None, **tv_kwargs)
                trunk.load_state_dict(state)
    for aux in ("aux1", "aux2", "AuxLogits"):  # training-only auxiliary classifiers (kept by some weights)
        if getattr(trunk, aux, None) is not None:
            setattr(trunk, aux, None)
            trunk.aux_logits = False
    if in_channels != 3:
        _adapt_first_conv(trunk, in_channels)
    prov = _provenance(weights, cached, "torchvision-cache", label)
    if variant and weights == "auto":
        prov["note"] = f"{label} exist only for torchvision's own {name}, not for this variant"
    return ImageNet(trunk, head=head, num_outputs=num_outputs, dropout=dropout, weights_provenance=prov)


def _narrow_init(m: nn.Module) -> None:
    """torchvision's ResNet / VGG initialisation for one new layer."""
    if isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, 0, 0.01)
        nn.init.zeros_(m.bias)
    # BatchNorm2d: weight 1, bias 0 by construction


def narrow_torchvision(name: str, width: int, **tv_kwargs: Any) -> nn.Module:
    """torchvision's ``name`` (a ResNet or VGG, random init) with every channel count scaled by
    ``width / 64``: the same modules, names and order, only narrower.

    The image's input channels and the classifier's outputs stay; all other conv, BatchNorm and
    ``Linear`` widths (all multiples of 64 at full width) become ``c · width / 64``. Built on the
    meta device, then every layer made anew (on the current default device) and initialised as
    torchvision does (conv Kaiming-normal fan-out, BatchNorm 1/0, ``Linear`` N(0, 0.01)).
    """
    import torchvision

    if not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be a positive int, got {width!r}")
    with torch.device("meta"):
        trunk = torchvision.models.get_model(name, weights=None, **tv_kwargs)
    layers = [(n, m) for n, m in trunk.named_modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear))]
    if _layout_of(trunk) not in ("ResNet", "VGG"):
        raise ValueError(f"narrow_torchvision knows torchvision's ResNets and VGGs, not {name!r}")
    others = [n for n, m in trunk.named_modules()
              if not isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear)) and any(True for _ in m.parameters(False))]
    if others:  # pragma: no cover - a torchvision change
        raise RuntimeError(f"cannot narrow {name}: layers {others} hold parameters")

    def scale(c: int) -> int:
        if (c * width) % 64:  # pragma: no cover - every ResNet / VGG width is a multiple of 64
            raise RuntimeError(f"cannot scale {c} channels of {name} by {width}/64")
        return c * width // 64

    last_linear = max((i for i, (_, m) in enumerate(layers) if isinstance(m, nn.Linear)), default=-1)
    for i, (path, m) in enumerate(layers):
        if isinstance(m, nn.Conv2d):
            if m.groups != 1:  # pragma: no cover - not in ResNet / VGG
                raise RuntimeError(f"cannot narrow grouped conv {path} of {name}")
            new: nn.Module = nn.Conv2d(m.in_channels if i == 0 else scale(m.in_channels), scale(m.out_channels),
                                       m.kernel_size, m.stride, m.padding, m.dilation, 1, m.bias is not None)
        elif isinstance(m, nn.BatchNorm2d):
            new = nn.BatchNorm2d(scale(m.num_features), m.eps, m.momentum, m.affine, m.track_running_stats)
        else:
            out = m.out_features if i == last_linear else scale(m.out_features)
            new = nn.Linear(scale(m.in_features), out, m.bias is not None)
        _narrow_init(new)
        parent, _, attr = path.rpartition(".")
        setattr(trunk.get_submodule(parent) if parent else trunk, attr, new)  # same name, same place
    return trunk


def _full_width_weights(name: str, what: str, value: Any, full: Any, weights: str) -> None:
    """Pretrained weights exist only at the paper width: a clear error for ``weights="imagenet"``."""
    if value != full and weights == "imagenet":
        raise ValueError(f"{name}: ImageNet weights exist only at full width ({what}={full!r}), got {what}={value!r}; "
                         "use weights='none' or 'auto' (random init) for a narrow network")


def _timm_cached_file(name: str) -> tuple[Path | None, str]:
    """The local file of timm's default pretrained weights for ``name`` (torch hub checkpoint
    folder, or the Hugging Face cache), if present, and the weights' label."""
    import timm

    cfg = timm.models.get_pretrained_cfg(name)
    if cfg is None:
        return None, f"{name} (no pretrained weights in timm)"
    label = f"{name}.{cfg.tag}" if cfg.tag else name
    candidates: list[Path] = []
    if cfg.url:
        candidates.append(Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(cfg.url))
    if cfg.hf_hub_id:
        from huggingface_hub import try_to_load_from_cache  # local look-up only

        for fname in ("model.safetensors", "pytorch_model.bin"):
            hit = try_to_load_from_cache(cfg.hf_hub_id, fname)
            if isinstance(hit, str):
                candidates.append(Path(hit))
    return next((p for p in candidates if p.is_file()), candidates[0] if candidates else None), label


def timm_net(
    name: str,
    *,
    weights: str = "none",
    in_channels: int = 3,
    head: str = "regression",
    num_outputs: int = 1,
    dropout: float = 0.0,
    **timm_kwargs: Any,
) -> ImageNet:
    """An :class:`ImageNet` around ``timm.create_model(name, num_classes=0, ...)``.

    ``weights`` as :func:`torchvision_net`; the cached file is timm's default pretrained weights
    (torch hub checkpoint folder or Hugging Face cache), loaded with timm's own loader. Never
    downloads. ``in_channels`` as :func:`torchvision_net` (the RGB first conv adapted).
    """
    import timm

    path, label = _timm_cached_file(name)
    cached = _cached_or_random(weights, path, label)
    overlay = {"pretrained_cfg_overlay": {"file": str(cached)}} if cached is not None else {}
    trunk = timm.create_model(name, pretrained=cached is not None, num_classes=0, **overlay, **timm_kwargs)
    if in_channels != 3:
        _adapt_first_conv(trunk, in_channels)
    prov = _provenance(weights, cached, "timm-cache", label)
    return ImageNet(trunk, head=head, num_outputs=num_outputs, dropout=dropout, weights_provenance=prov)


# ---------------------------------------------------------------- registered builders
def _register_torchvision(name: str, what: str, min_size: int) -> None:
    def builder(**common: Any) -> ImageNet:
        return torchvision_net(name, **common)

    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = f"{what} (torchvision ``{name}``), ``(B, 3, H, W)`` -> head. Args: the image family's common ones."
    register_model(builder, name=name, family="image", min_size=min_size)


def _register_narrowable(name: str, what: str, min_size: int) -> None:
    def builder(*, width: int = 64, **common: Any) -> ImageNet:
        _full_width_weights(name, "width", width, 64, common.get("weights", "none"))
        if width == 64:
            return torchvision_net(name, **common)
        return torchvision_net(name, trunk=narrow_torchvision(name, width), **common)

    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = (
        f"{what} (torchvision ``{name}``), ``(B, 3, H, W)`` -> head.\n\n"
        "    Args:\n"
        "        width: channels of the first stage (default 64, torchvision's); every width scales with\n"
        "            ``width / 64`` (:func:`~pain_lib.models.image_nets.narrow_torchvision`; ImageNet weights\n"
        "            only at 64).\n"
        "        head, num_outputs, dropout, weights, in_channels: the image family's common ones.\n"
    )
    register_model(builder, name=name, family="image", min_size=min_size)


for _depth in (18, 34, 50, 101, 152):
    _register_narrowable(f"resnet{_depth}", f"ResNet-{_depth} (He et al. 2016), any input size", 1)
_register_narrowable("vgg16", "VGG-16 (Simonyan & Zisserman 2015) with fc6/fc7 (pooled features: fc7, 64·width = 4096), "
                     "input >= 32 px", 32)
_register_torchvision("swin_t", "Swin-T (Liu et al. 2021), input >= 4 px (windows are padded); fixed width", 4)


@register_model(family="image", min_size=1)
def efficientnet_b0(*, width_mult: float = 1.0, **common: Any) -> ImageNet:
    """EfficientNet-B0 (Tan & Le 2019, torchvision), any input size.

    Args:
        width_mult: torchvision's channel multiplier (default 1.0; channels rounded to multiples
            of 8, e.g. 0.25 for a narrow network); ImageNet weights only at 1.0.
        head, num_outputs, dropout, weights, in_channels: the image family's common ones.
    """
    _full_width_weights("efficientnet_b0", "width_mult", width_mult, 1.0, common.get("weights", "none"))
    if width_mult == 1.0:
        return torchvision_net("efficientnet_b0", **common)
    from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf

    setting, last_channel = _efficientnet_conf("efficientnet_b0", width_mult=float(width_mult), depth_mult=1.0)
    trunk = EfficientNet(setting, dropout=0.2, last_channel=last_channel)  # torchvision's efficientnet_b0
    return torchvision_net("efficientnet_b0", trunk=trunk, **common)


@register_model(family="image", min_size=1)
def efficientnet_v2_s(*, width_mult: float = 1.0, **common: Any) -> ImageNet:
    """EfficientNetV2-S (Tan & Le 2021, torchvision), any input size -- the closest torchvision
    model to the ``ahdi`` paper's "EfficientNetV3" (its reference [53] is arXiv 2104.00298,
    EfficientNetV2).

    Args:
        width_mult: channel multiplier of every stage (channels rounded to multiples of 8, as
            torchvision's EfficientNet-B* ``width_mult``; e.g. 0.125 for a narrow network); the
            last 1x1 conv keeps its 1280 · ``width_mult`` channels; ImageNet weights only at 1.0.
        head, num_outputs, dropout, weights, in_channels: the image family's common ones.
    """
    _full_width_weights("efficientnet_v2_s", "width_mult", width_mult, 1.0, common.get("weights", "none"))
    if width_mult == 1.0:
        return torchvision_net("efficientnet_v2_s", **common)
    import dataclasses as _dc

    from torchvision.models._utils import _make_divisible
    from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf

    setting, last_channel = _efficientnet_conf("efficientnet_v2_s")
    scale = lambda c: _make_divisible(c * float(width_mult), 8)  # noqa: E731
    setting = [_dc.replace(c, input_channels=scale(c.input_channels), out_channels=scale(c.out_channels))
               for c in setting]
    trunk = EfficientNet(setting, dropout=0.2, last_channel=scale(last_channel))
    return torchvision_net("efficientnet_v2_s", trunk=trunk, **common)


@register_model(family="image", min_size=15)
def googlenet(**common: Any) -> ImageNet:
    """GoogLeNet / Inception-v1 (Szegedy et al. 2015, torchvision), without the auxiliary
    (training-only) classifiers; input ``(B, 3, H, W)``, H, W >= 15; fixed width."""
    return torchvision_net("googlenet", aux_logits=False, init_weights=True, **common)


@register_model(family="image", min_size=75)
def inception_v3(**common: Any) -> ImageNet:
    """Inception-v3 (Szegedy et al. 2016, torchvision) without the auxiliary classifier; input
    ``(B, 3, H, W)`` with H, W >= 75 (299 native); fixed width."""
    return torchvision_net("inception_v3", aux_logits=False, init_weights=True, **common)


@register_model(family="image", min_size=16)
def vit_b_16(*, image_size: int = 224, **common: Any) -> ImageNet:
    """ViT-B/16 (Dosovitskiy et al. 2021, torchvision): input exactly ``(B, 3, image_size,
    image_size)``, ``image_size`` a multiple of 16 (>= 16); pretrained position embeddings
    (224 px) are interpolated to ``image_size``; fixed width."""
    return torchvision_net("vit_b_16", image_size=image_size, **common)


@register_model(family="image", min_size=7)
def xception(**common: Any) -> ImageNet:
    """Xception (Chollet 2017) from timm: ``legacy_xception`` (:data:`XCEPTION_TIMM_NAME`, the
    original network ported from Keras; pretrained ``tf_in1k``, inputs normalised with mean =
    std = 0.5); input ``(B, 3, H, W)``, H, W >= 7 (299 native); fixed width."""
    return timm_net(XCEPTION_TIMM_NAME, **common)
