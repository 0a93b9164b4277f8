"""Preprocessing: pure, tested, device-agnostic functions (issue 4).

Modules (each small, each with the tensor layouts in its docstrings):

=================  =====================================================================
``rank_pooling``   approximate/exact rank pooling, dynamic image, mean image, MDV, uint8
``flow``           optical flow (Farneback, DIS, TV-L1 when ``cv2.optflow`` exists), encodings
``keyframes``      chi-square key frames, frame-skip sampling (hrg)
``ahdi``           motion-adaptive hierarchical dynamic image (ahdi Algorithm 1)
``ssd``            statistical spatiotemporal distillation (ssd Sec. 2.1)
``rppg``           skin RGB trace, POS, CHROM, spectral heart rate
``ecg``            R-peaks and heart rate from ECG (neurokit2)
``hrg``            heart-rate gain and its train-fitted [0, 1] normaliser
``cache``          content-addressed atomic ``.npz`` cache
``reference``      loop implementations used by tests and the benchmark
``plots``          figures for the representations notebook
=================  =====================================================================

Conventions: a clip is ``(T,H,W,C)`` NumPy (what ``read_clip`` returns: uint8 RGB) or
``(C,T,H,W)`` torch; outputs mirror the input (NumPy in -> NumPy out, channels-last in ->
channels-last out).  Intensities keep the input's units (0..255).  Bad input raises
``ValueError`` saying what was expected.

Functions whose name equals their module's (``ahdi.ahdi``) are not re-exported here, so that
``pain_lib.preprocess.ahdi`` stays the module.
"""

from .ahdi import adaptive_segments, ahdi_details, motion_activity
from .cache import FeatureCache
from .ecg import ecg_heart_rate
from .flow import flow_magnitude_angle, flow_to_rgb, optical_flow
from .hrg import HRGNormalizer, heart_rate_gain
from .keyframes import frame_skip_sampling, select_key_frames
from .rank_pooling import (
    approx_rank_pooling_weights,
    dynamic_image,
    exact_rank_pooling,
    mean_image,
    multiple_dynamic_images,
    to_uint8_image,
)
from .rppg import estimate_heart_rate, rgb_trace
from .ssd import ssd_flow_map, ssd_map

__all__ = [
    "FeatureCache",
    "HRGNormalizer",
    "adaptive_segments",
    "ahdi_details",
    "approx_rank_pooling_weights",
    "dynamic_image",
    "ecg_heart_rate",
    "estimate_heart_rate",
    "exact_rank_pooling",
    "flow_magnitude_angle",
    "flow_to_rgb",
    "frame_skip_sampling",
    "heart_rate_gain",
    "mean_image",
    "motion_activity",
    "multiple_dynamic_images",
    "optical_flow",
    "rgb_trace",
    "select_key_frames",
    "ssd_flow_map",
    "ssd_map",
    "to_uint8_image",
]
