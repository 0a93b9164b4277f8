"""Video models: one general 3D network class, registered builders, analysis and transfer.

Pick models by name::

    from pain_lib.models import get_model, list_models
    model = get_model("scn", depth=101, base_width=run.profile.base_width)   # PSPI regression head
    list_models("video")   # ['c3d', 'inception3d', 'r2plus1d', 'r3d', 'res3d', 'scn', 'vgg3d']

Every model is a :class:`VideoNet` (``forward_features`` / ``forward_head``); see
:mod:`pain_lib.models.zoo` for the builders and their fidelity notes, :mod:`.analysis` for
parameter counts and Table-3-style descriptions, :mod:`.transfer` for the SCN paper's
cross-architecture knowledge transfer (2D ResNet -> 3D network).
"""

from . import zoo as _zoo  # noqa: F401  (registers the builders)
from .analysis import (
    analytic_parameter_count,
    count_parameters,
    count_parameters_meta,
    describe_architecture,
    parameter_count_table,
)
from .blocks import BasicBlock, Bottleneck, ConvBNReLU, InceptionBlock, PlainBlock
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
    model_args,
    model_builder,
    model_family,
    register_model,
)
from .transfer import (
    TransferPairDataset,
    TransferPairModel,
    TransferPairSampler,
    load_2d_backbone,
    pretrain_2d_identity,
    transfer_step,
)
from .video_net import HEADS, Head, Stage, Stem, VideoNet, conv_stem, init_weights
from .zoo import BOTTLENECK_LAYERS, DEPTH_ALIASES, SCN_TEMPORAL_DEPTHS, bottleneck_plan

__all__ = [
    "get_model",
    "list_models",
    "model_args",
    "model_builder",
    "register_model",
    "model_family",
    "COMMON_ARGS",
    "IMAGE_COMMON_ARGS",
    "FAMILIES",
    "VideoNet",
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
    "SameConv3d",
    "TEMPORAL_PADDINGS",
    "set_temporal_padding",
    "BOTTLENECK_LAYERS",
    "DEPTH_ALIASES",
    "SCN_TEMPORAL_DEPTHS",
    "bottleneck_plan",
    "count_parameters",
    "count_parameters_meta",
    "analytic_parameter_count",
    "parameter_count_table",
    "describe_architecture",
    "TransferPairSampler",
    "TransferPairDataset",
    "TransferPairModel",
    "transfer_step",
    "load_2d_backbone",
    "pretrain_2d_identity",
]
