"""Models: one general 3D network class, 2D image backbones, one registry, analysis, inflation.

Pick models by name; the registry has two families (:data:`FAMILIES`)::

    from pain_lib.models import get_model, list_models
    model = get_model("scn", depth=101, base_width=run.profile.base_width)   # PSPI regression head
    list_models("video")  # ['c3d', 'inception3d', 'r2plus1d', 'r3d', 'res3d', 'scn', 'vgg3d']
    list_models("image")  # ['efficientnet_b0', 'googlenet', 'inception_v3', 'resnet101', ..., 'xception']
    min_input_size("vgg16")  # 32: the smallest H = W a 2D model accepts
    get_model("resnet50", width=16)  # a narrow 2D backbone (about 1/16 of the parameters)

Every video model is a :class:`VideoNet`, every image model an :class:`ImageNet` (both:
``forward_features`` / ``forward_head`` / ``num_features`` / ``head``); see
:mod:`pain_lib.models.zoo` and :mod:`pain_lib.models.image_nets` for the builders and their
notes, :mod:`.analysis` for parameter counts and Table-3-style descriptions, :mod:`.inflate`
for I3D-style 2D -> 3D weight inflation, and :mod:`.resnet2d` for the 2D counterpart of
Res3D/SCN that the SCN paper's knowledge transfer pairs them with.
"""

from . import hrg_net as _hrg_net  # noqa: F401  (registers the hrg paper's dual-branch network)
from . import resnet2d as _resnet2d  # noqa: F401  (registers the 2D bottleneck ResNet)
from . import temporal_pooling as _temporal_pooling  # noqa: F401  (registers image_sequence)
from . import zoo as _zoo  # noqa: F401  (registers the 3D builders)
from .analysis import (
    analytic_parameter_count,
    count_parameters,
    count_parameters_meta,
    describe_architecture,
    parameter_count_table,
)
from .blocks import BasicBlock, Bottleneck, ConvBNReLU, InceptionBlock, PlainBlock
from .image_nets import (
    IMAGE_HEADS,
    XCEPTION_TIMM_NAME,
    ImageNet,
    narrow_torchvision,
    timm_net,
    torchvision_cache_path,
    torchvision_net,
)
from .inflate import inflate_2d_to_3d, inflate_conv_weight
from .layers import (
    TEMPORAL_PADDINGS,
    SameConv3d,
    conv2plus1d,
    conv2plus1d_midplanes,
    conv3d,
    kernel_thw,
    paper_kernel,
    set_temporal_padding,
)
from .registry import (
    COMMON_ARGS,
    FAMILIES,
    IMAGE_COMMON_ARGS,
    get_model,
    list_models,
    min_input_size,
    model_args,
    model_builder,
    model_family,
    register_model,
)
from .temporal_pooling import POOLINGS, ImageSequenceNet, TemporalAttention, make_pooling
from .video_net import HEADS, Head, HeadedNet, Stage, Stem, VideoNet, conv_stem, init_weights
from .zoo import BOTTLENECK_LAYERS, DEPTH_ALIASES, SCN_TEMPORAL_DEPTHS, bottleneck_plan

__all__ = [
    "POOLINGS",
    "ImageSequenceNet",
    "TemporalAttention",
    "make_pooling",
    "get_model",
    "list_models",
    "model_args",
    "model_builder",
    "register_model",
    "model_family",
    "min_input_size",
    "COMMON_ARGS",
    "IMAGE_COMMON_ARGS",
    "FAMILIES",
    "VideoNet",
    "ImageNet",
    "HeadedNet",
    "IMAGE_HEADS",
    "torchvision_net",
    "narrow_torchvision",
    "timm_net",
    "torchvision_cache_path",
    "XCEPTION_TIMM_NAME",
    "inflate_2d_to_3d",
    "inflate_conv_weight",
    "SameConv3d",
    "TEMPORAL_PADDINGS",
    "set_temporal_padding",
    "Stage",
    "Stem",
    "Head",
    "HEADS",
    "conv_stem",
    "init_weights",
    "Bottleneck",
    "BasicBlock",
    "PlainBlock",
    "InceptionBlock",
    "ConvBNReLU",
    "conv3d",
    "conv2plus1d",
    "conv2plus1d_midplanes",
    "kernel_thw",
    "paper_kernel",
    "BOTTLENECK_LAYERS",
    "DEPTH_ALIASES",
    "SCN_TEMPORAL_DEPTHS",
    "bottleneck_plan",
    "count_parameters",
    "count_parameters_meta",
    "analytic_parameter_count",
    "parameter_count_table",
    "describe_architecture",
]
