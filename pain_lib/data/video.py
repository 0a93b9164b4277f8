"""Video and image-sequence IO through OpenCV, always returning RGB.

Layouts: a clip is ``(T, H, W, 3)`` uint8 RGB.  OpenCV decodes BGR; every function here
converts.  Unreadable inputs raise :class:`~pain_lib.data.errors.CorruptMediaError` naming
the file (truncated mp4, missing/corrupt image, empty sequence).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from .errors import CorruptMediaError

if TYPE_CHECKING:
    from .base import Sample

__all__ = ["read_clip", "read_video", "read_images", "read_image", "iter_video", "video_info",
           "verify_image", "verify_video"]


def read_image(path: Path) -> np.ndarray:
    """One image file as ``(H, W, 3)`` uint8 RGB."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise CorruptMediaError(f"cannot decode image file {str(path)!r} (missing, empty or corrupt)")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def read_images(paths: Sequence[Path]) -> np.ndarray:
    """Image files as ``(T, H, W, 3)`` uint8 RGB (all must have the same size)."""
    if len(paths) == 0:
        raise CorruptMediaError("empty image sequence: no frame files to read")
    first = read_image(paths[0])
    out = np.empty((len(paths), *first.shape), np.uint8)
    out[0] = first
    for i, p in enumerate(paths[1:], start=1):
        img = read_image(p)
        if img.shape != first.shape:
            raise CorruptMediaError(f"frame {str(p)!r} has size {img.shape[:2]}, the sequence "
                                    f"started with {first.shape[:2]}")
        out[i] = img
    return out


def _open(path: Path) -> cv2.VideoCapture:
    if not Path(path).is_file():
        raise CorruptMediaError(f"video file {str(path)!r} does not exist")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise CorruptMediaError(f"cannot open video file {str(path)!r} (truncated, corrupt or not a video)")
    return cap


def video_info(path: Path) -> dict:
    """``{"n_frames", "fps", "width", "height"}`` from the container header."""
    cap = _open(path)
    try:
        info = {
            "n_frames": int(cap.get(cv2.CAP_PROP_FRAME_COUNT)),
            "fps": float(cap.get(cv2.CAP_PROP_FPS)),
            "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        }
    finally:
        cap.release()
    if info["n_frames"] <= 0:
        raise CorruptMediaError(f"video file {str(path)!r} reports no frames (truncated or corrupt)")
    return info


def iter_video(path: Path) -> Iterator[np.ndarray]:
    """Decode a video frame by frame, yielding ``(H, W, 3)`` uint8 RGB."""
    cap = _open(path)
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()


def read_video(path: Path, indices: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """Frames ``indices`` (default: all) of a video as ``(T, H, W, 3)`` uint8 RGB.

    Decodes sequentially (exact with every codec, unlike seeking) and stops after the last
    requested frame.  Indices may repeat and be in any order.
    """
    want = None if indices is None else np.asarray(indices, dtype=np.int64)
    if want is not None and want.size == 0:
        raise ValueError("indices is empty")
    if want is not None and want.min() < 0:
        raise ValueError(f"negative frame index {int(want.min())} for {path}")
    last = None if want is None else int(want.max())
    frames: list[np.ndarray] = []
    for i, f in enumerate(iter_video(path)):
        frames.append(f)
        if last is not None and i >= last:
            break
    if not frames:
        raise CorruptMediaError(f"video file {str(path)!r} has no decodable frames (truncated or corrupt)")
    if last is not None and last >= len(frames):
        raise CorruptMediaError(f"video file {str(path)!r} ended after {len(frames)} frames but frame "
                                f"{last} was requested (truncated file?)")
    clip = np.stack(frames)
    return clip if want is None else clip[want]


def read_clip(sample: Sample, indices: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """Frames of a :class:`Sample` as ``(T, H, W, 3)`` uint8 RGB (``indices`` default: all)."""
    if sample.video is not None:
        return read_video(sample.video, indices)
    if not sample.frames:
        raise CorruptMediaError(f"sample {sample.sample_id!r} has an empty frame sequence")
    if indices is None:
        return read_images(sample.frames)
    idx = np.asarray(indices, dtype=np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= len(sample.frames)):
        raise IndexError(f"frame index out of range 0..{len(sample.frames) - 1} for sample "
                         f"{sample.sample_id!r}: {idx.min()}..{idx.max()}")
    uniq, inv = np.unique(idx, return_inverse=True)
    return read_images([sample.frames[i] for i in uniq])[inv]


# ----------------------------------------------------------------------------- verification
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_problem(data: bytes) -> str | None:
    """Why a PNG file is damaged (chunk structure, CRCs, IEND), or ``None``."""
    pos = len(_PNG_SIGNATURE)
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > len(data):
            return f"chunk {kind!r} runs past the end of the file (truncated)"
        (crc,) = struct.unpack(">I", data[end - 4:end])
        if zlib.crc32(data[pos + 4:end - 4]) != crc:
            return f"chunk {kind!r} fails its CRC (corrupt)"
        if kind == b"IEND":
            return None
        pos = end
    return "no IEND chunk (truncated)"


def verify_image(path: Path) -> tuple[int, int]:
    """Check that an image file is complete and decodes; returns its ``(H, W)``.

    Beyond decoding with OpenCV (which accepts a truncated JPEG, filling it with grey), a PNG
    must have intact chunks (CRCs) up to ``IEND`` and a JPEG must end with its end-of-image
    marker.  Raises :class:`CorruptMediaError` naming the file."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise CorruptMediaError(f"cannot read image file {str(path)!r}: {e}") from None
    why = None
    if data.startswith(_PNG_SIGNATURE):
        why = _png_problem(data)
    elif data.startswith(b"\xff\xd8"):
        if not data.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9"):
            why = "no JPEG end-of-image marker (truncated)"
    if why is None:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            why = "cannot be decoded (empty or corrupt)"
    if why is not None:
        raise CorruptMediaError(f"image file {str(path)!r}: {why}")
    return int(img.shape[0]), int(img.shape[1])


def verify_video(path: Path, *, full: bool = False) -> int:
    """Check that a video decodes: its first and last frame (by the header's count), or with
    ``full`` every frame, counting them against the header.  Returns the frames checked.
    Raises :class:`CorruptMediaError` naming the file."""
    n = video_info(path)["n_frames"]
    cap = _open(path)
    try:
        ok, _ = cap.read()
        if not ok:
            raise CorruptMediaError(f"video file {str(path)!r}: cannot decode its first frame")
        if full:
            decoded = 1
            while cap.read()[0]:
                decoded += 1
            if decoded < n:
                raise CorruptMediaError(f"video file {str(path)!r} ended after {decoded} of the {n} "
                                        f"frames its header announces (truncated?)")
            return decoded
        if n > 1:
            cap.set(cv2.CAP_PROP_POS_FRAMES, n - 1)
            ok, _ = cap.read()
            if not ok:
                raise CorruptMediaError(f"video file {str(path)!r}: its last frame ({n - 1}) does not "
                                        f"decode (truncated?)")
        return min(n, 2)
    finally:
        cap.release()
