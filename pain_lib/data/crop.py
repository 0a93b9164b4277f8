"""Face boxes (from landmarks or OpenCV's Haar cascade), temporal smoothing, and cropping.

Boxes are ``(T, 4)`` float arrays ``[x0, y0, x1, y1]`` in frame pixels; frames ``(T, H, W, 3)``
uint8 RGB; crops ``(T, size, size, 3)`` uint8 RGB.

Crop modes (:func:`face_boxes`):

* ``"landmarks"`` -- the dataset's landmarks (UNBC AAM files);
* ``"truth"`` -- the simulator's 68 landmarks (synthetic data only);
* ``"haar"`` -- ``haarcascade_frontalface_default.xml`` on every 4th frame (:data:`HAAR_EVERY`),
  the frames between and missed frames interpolated, then a moving-average smoothing of centre
  and size;
* ``"auto"`` -- landmarks when the sample has them, else Haar;
* ``"full"`` -- the whole frame (centre square).
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from .base import Sample
from .video import read_clip

__all__ = ["boxes_from_landmarks", "detect_faces_haar", "fill_missing", "smooth_boxes", "square_boxes",
           "crop_frames", "face_boxes", "CROP_MODES", "CROP_VERSION", "HAAR_EVERY", "face_crop_params", "haar_cascade", "load_face_frames"]

CROP_MODES = ("auto", "landmarks", "truth", "haar", "full")


@lru_cache(maxsize=1)
def haar_cascade() -> cv2.CascadeClassifier:
    """OpenCV's frontal-face Haar cascade (loaded once)."""
    path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
    casc = cv2.CascadeClassifier(path)
    if casc.empty():
        raise RuntimeError(f"cannot load the Haar cascade {path} (opencv-python 4.x ships it)")
    return casc


def square_boxes(boxes: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Squares ``(T, 4)`` with the boxes' centres and side ``scale * max(w, h)``."""
    b = np.asarray(boxes, float)
    c = (b[:, :2] + b[:, 2:]) / 2
    side = scale * np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
    return np.concatenate([c - side[:, None] / 2, c + side[:, None] / 2], axis=1)


def boxes_from_landmarks(landmarks: np.ndarray, margin: float = 0.2) -> np.ndarray:
    """Square boxes ``(T, 4)`` around landmarks ``(T, N, 2)``, grown by ``margin`` per side;
    the top is raised by a fifth of the height to include the forehead."""
    lm = np.asarray(landmarks, float)
    lo, hi = lm.min(axis=1), lm.max(axis=1)
    h = hi[:, 1] - lo[:, 1]
    lo = lo.copy()
    lo[:, 1] -= 0.2 * h
    return square_boxes(np.concatenate([lo, hi], axis=1), 1 + 2 * margin)


def detect_faces_haar(frames: np.ndarray, *, min_size: float = 0.15, scale_factor: float = 1.1,
                      min_neighbors: int = 4, every: int = 1) -> np.ndarray:
    """Largest Haar face per frame: ``(T, 4)`` boxes, NaN rows where nothing was found.

    ``min_size`` is the smallest face side as a fraction of the shorter frame side. ``every``
    runs the detector on every ``every``-th frame only (the first, then each ``every`` frames, and
    the last); the other rows stay NaN for :func:`fill_missing` to interpolate -- the usual
    detect-then-interpolate shortcut for steady faces (Haar costs ~6 ms per 160x120 frame).
    """
    if every < 1:
        raise ValueError(f"every must be >= 1 (detect on every every-th frame), got {every}")
    casc = haar_cascade()
    out = np.full((len(frames), 4), np.nan)
    picked = sorted({*range(0, len(frames), every), len(frames) - 1}) if len(frames) else []
    for i in picked:
        g = cv2.cvtColor(frames[i], cv2.COLOR_RGB2GRAY)
        m = int(min_size * min(g.shape))
        det = casc.detectMultiScale(g, scaleFactor=scale_factor, minNeighbors=min_neighbors,
                                    minSize=(m, m))
        if len(det):
            x, y, w, h = max(det, key=lambda d: d[2] * d[3])
            out[i] = (x, y, x + w, y + h)
    return out


def fill_missing(boxes: np.ndarray, frame_shape: tuple[int, int] | None = None) -> np.ndarray:
    """Interpolate NaN rows linearly in time (nearest at the ends); all-NaN -> centre square
    of ``frame_shape`` ``(H, W)``."""
    b = np.asarray(boxes, float).copy()
    ok = ~np.isnan(b).any(axis=1)
    if ok.all():
        return b
    if not ok.any():
        if frame_shape is None:
            raise ValueError("no face found in any frame and no frame shape to fall back on")
        h, w = frame_shape
        s = min(h, w)
        b[:] = ((w - s) / 2, (h - s) / 2, (w + s) / 2, (h + s) / 2)
        return b
    t = np.arange(len(b))
    for j in range(4):
        b[~ok, j] = np.interp(t[~ok], t[ok], b[ok, j])
    return b


def smooth_boxes(boxes: np.ndarray, window: int = 5) -> np.ndarray:
    """Centred moving average (edge-padded) of box centre and size over ``window`` frames."""
    b = np.asarray(boxes, float)
    if window <= 1 or len(b) < 2:
        return b.copy()
    c = (b[:, :2] + b[:, 2:]) / 2
    wh = b[:, 2:] - b[:, :2]
    x = np.concatenate([c, wh], axis=1)
    pad = window // 2
    xp = np.pad(x, ((pad, window - 1 - pad), (0, 0)), mode="edge")
    k = np.ones(window) / window
    sm = np.stack([np.convolve(xp[:, j], k, mode="valid") for j in range(4)], axis=1)
    return np.concatenate([sm[:, :2] - sm[:, 2:] / 2, sm[:, :2] + sm[:, 2:] / 2], axis=1)


def crop_frames(frames: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """Crop and resize each frame's box to ``(size, size)``: ``(T, size, size, 3)`` uint8.

    Boxes may leave the frame (borders are replicated).  Area interpolation when shrinking.
    """
    frames = np.asarray(frames)
    b = np.asarray(boxes, float)
    if len(b) != len(frames):
        raise ValueError(f"{len(b)} boxes for {len(frames)} frames")
    out = np.empty((len(frames), size, size, frames.shape[-1]), np.uint8)
    for i, (f, (x0, y0, x1, y1)) in enumerate(zip(frames, b)):
        sx, sy = size / max(x1 - x0, 1e-6), size / max(y1 - y0, 1e-6)
        if sx < 1 and sy < 1:  # shrink: cut the (padded) box, then area-resize
            xi0, yi0 = int(np.floor(x0)), int(np.floor(y0))
            xi1, yi1 = int(np.ceil(x1)), int(np.ceil(y1))
            h, w = f.shape[:2]
            pad = [max(0, -yi0), max(0, yi1 - h), max(0, -xi0), max(0, xi1 - w)]
            roi = f[max(yi0, 0):min(yi1, h), max(xi0, 0):min(xi1, w)]
            if any(pad):
                roi = cv2.copyMakeBorder(roi, *pad, cv2.BORDER_REPLICATE)
            out[i] = cv2.resize(roi, (size, size), interpolation=cv2.INTER_AREA)
        else:
            m = np.array([[sx, 0, -x0 * sx], [0, sy, -y0 * sy]])
            out[i] = cv2.warpAffine(f, m, (size, size), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REPLICATE)
    return out


#: version of the face-crop procedure, part of every face-crop cache key (2: Haar on every
#: :data:`HAAR_EVERY`-th frame)
CROP_VERSION = 2
#: Haar detection runs on every this many frames (:func:`detect_faces_haar`'s ``every``); boxes
#: between are interpolated, then smoothed over ``smooth`` frames
HAAR_EVERY = 4


def face_crop_params(size: int, crop: str) -> dict:
    """The key parameters of a cached face crop: its size, crop mode and :data:`CROP_VERSION`
    (so a change of the crop procedure recomputes every cache that holds crops)."""
    return {"size": size, "crop": crop, "v": CROP_VERSION}


def face_boxes(sample: Sample, frames: np.ndarray, indices: np.ndarray | None = None, *,
               mode: str = "auto", smooth: int = 5, margin: float = 0.2) -> np.ndarray:
    """Face boxes ``(T, 4)`` for ``frames`` (the sample's frames ``indices``, default all); Haar
    boxes are detected on every :data:`HAAR_EVERY`-th frame and interpolated between."""
    if mode not in CROP_MODES:
        raise ValueError(f"unknown crop mode {mode!r}; valid: {', '.join(CROP_MODES)}")
    idx = np.arange(len(frames)) if indices is None else np.asarray(indices)
    if mode == "auto":
        mode = "landmarks" if sample.meta.get("landmark_files") else "haar"
    if mode == "full":
        h, w = frames.shape[1:3]
        return fill_missing(np.full((len(frames), 4), np.nan), (h, w))
    if mode == "landmarks":
        from .unbc import load_landmarks

        files = sample.meta.get("landmark_files")
        if not files:
            raise ValueError(f"crop mode 'landmarks' but sample {sample.sample_id!r} has no landmark files")
        sub = Sample(sample.subject, sample.sample_id, None, None, sample.fps,
                     meta={"landmark_files": [files[i] for i in idx]})
        return smooth_boxes(boxes_from_landmarks(load_landmarks(sub), margin), smooth)
    if mode == "truth":
        truth = sample.meta.get("truth")
        if truth is None:
            raise ValueError(f"crop mode 'truth' needs synthetic ground truth; sample {sample.sample_id!r} has none")
        return smooth_boxes(boxes_from_landmarks(truth["landmarks"][idx], margin), smooth)
    det = detect_faces_haar(frames, every=HAAR_EVERY)
    det = square_boxes(fill_missing(det, frames.shape[1:3]), 1 + 2 * margin * 0.5)
    return smooth_boxes(det, smooth)


def load_face_frames(sample: Sample, size: int, *, crop: str = "auto", smooth: int = 5,
                     margin: float = 0.2) -> np.ndarray:
    """All frames of ``sample`` face-cropped to ``(T, size, size, 3)`` uint8 RGB."""
    frames = read_clip(sample)
    boxes = face_boxes(sample, frames, mode=crop, smooth=smooth, margin=margin)
    return crop_frames(frames, boxes, size)
