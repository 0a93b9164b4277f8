"""Render a shaded, anti-aliased face frame from landmarks, action units and physiology.

A :class:`FaceRenderer` holds one subject's static *face layer* (skin with Lambertian
shading on an ellipsoid, eye-socket / nose / lip shadows, texture, hair, ears, neck), drawn
once in a canonical frame at ``SUPERSAMPLE`` x resolution.  Per frame it

1. copies the layer and draws the expression-dependent parts at the current landmarks:
   brows, eyes (sclera, iris clipped to the lids, lashes), nostrils, lips, inner mouth and
   teeth, and wrinkles whose darkness follows the AU intensities (glabella lines for AU4,
   crow's feet and lower-lid bulge for AU6/AU7, nose-bridge lines for AU9, nasolabial folds
   for AU9/AU10/AU12);
2. down-samples with area averaging (the anti-aliasing), adds the rPPG pulse as a small
   multiplicative colour change of the skin pixels and a left-right lighting gradient;
3. warps the RGBA layer into the frame with the head pose (similarity + yaw squash),
   composites it over the background, applies the global lighting gain, a slight optical
   blur and camera noise, and quantises to ``uint8`` RGB.

All image arrays are ``(H, W, 3)`` RGB; float work arrays are float32 in 0-255.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .face import (
    LEFT_BROW,
    LEFT_EYE,
    OUTER_LIP,
    RIGHT_BROW,
    RIGHT_EYE,
    Identity,
    expression_shape,
    identity_shape,
)

__all__ = ["Domain", "Pose", "FaceRenderer", "make_background", "pose_track", "light_track",
           "PULSE_RGB"]

SUPERSAMPLE = 2
_SHIFT = 3  # fixed-point bits for sub-pixel cv2 drawing
_ORIGIN = np.array([-0.28, -0.34])  # template point at the layer's top-left corner
_EXTENT = 1.62  # layer side, template units
_ANCHOR = np.array([0.525, 0.55])  # template point placed at the domain's face centre
_JAW_WIDTH = 0.89  # template width of the jaw (points 0 -> 16)

#: relative pulsatile amplitude per channel (R, G, B): blood volume absorbs most in green
PULSE_RGB = np.array([0.33, 0.77, 0.53], np.float32) / 0.77


@dataclass(frozen=True)
class Domain:
    """Imaging conditions of a flavour (camera, framing, lighting, population)."""

    width: int
    height: int
    face_px: float  # jaw width in output pixels
    face_center: tuple[float, float] = (0.5, 0.5)  # where the face centre lands, frame fraction
    bg_rgb: tuple[float, float, float] = (150.0, 160.0, 170.0)
    bg_clutter: float = 0.2  # 0 = plain wall, 1 = cluttered room
    shirt_rgb: tuple[float, float, float] = (60.0, 80.0, 120.0)
    light_gain_drift: float = 0.04  # amplitude of the slow global brightness drift (fraction)
    light_side_drift: float = 0.08  # amplitude of the slow left-right shading drift
    light_side_bias: float = 0.0  # constant side-light asymmetry
    noise_sigma: float = 2.0  # camera noise, grey levels
    blur_sigma: float = 0.5  # optical blur, output pixels
    pose_jitter: float = 1.0  # scale of head motion (1 = typical seated subject)
    pulse_amp: float = 0.008  # green-channel pulse amplitude, fraction of skin intensity
    skin_tones: tuple[tuple[float, float, float], ...] = (
        (224, 184, 156), (198, 150, 118), (160, 114, 84), (236, 198, 172),
    )


@dataclass(frozen=True)
class Pose:
    """Head pose of one frame: translation (output px), in-plane roll (deg), scale, yaw (-1..1)."""

    tx: float = 0.0
    ty: float = 0.0
    roll: float = 0.0
    scale: float = 1.0
    yaw: float = 0.0


def _smooth_noise(rng: np.random.Generator, n: int, fps: float, cutoff_hz: float) -> np.ndarray:
    """Unit-variance low-pass Gaussian noise of length ``n`` (cut-off ``cutoff_hz``)."""
    x = rng.standard_normal(n + 64)
    sigma = max(fps / (2 * np.pi * cutoff_hz), 0.5)
    k = np.arange(-int(4 * sigma) - 1, int(4 * sigma) + 2)
    w = np.exp(-0.5 * (k / sigma) ** 2)
    w = w / w.sum()
    y = np.convolve(x, w, mode="same")[32:32 + n]
    return y / np.sqrt(np.sum(w**2))  # unit variance in expectation (not per draw)


def pose_track(n: int, fps: float, rng: np.random.Generator, amount: float = 1.0) -> list[Pose]:
    """Head motion of ``n`` frames: slow drift (< 0.3 Hz) plus small fast jitter."""
    drift = lambda hz: _smooth_noise(rng, n, fps, hz)  # noqa: E731
    jit = lambda: rng.standard_normal(n)  # noqa: E731
    tx = amount * (2.0 * drift(0.2) + 0.25 * jit())
    ty = amount * (1.5 * drift(0.2) + 0.25 * jit())
    roll = amount * (3.0 * drift(0.15) + 0.2 * jit())
    scale = 1 + amount * (0.025 * drift(0.1))
    yaw = amount * 0.12 * drift(0.15)
    return [Pose(float(a), float(b), float(c), float(d), float(e))
            for a, b, c, d, e in zip(tx, ty, roll, scale, yaw)]


def light_track(n: int, fps: float, rng: np.random.Generator, domain: Domain) -> np.ndarray:
    """``(n, 2)`` lighting per frame: global gain (about 1) and side-light gradient."""
    gain = 1 + domain.light_gain_drift * _smooth_noise(rng, n, fps, 0.05)
    side = domain.light_side_bias + domain.light_side_drift * _smooth_noise(rng, n, fps, 0.05)
    return np.stack([gain, side], axis=1).astype(np.float32)


def make_background(domain: Domain, rng: np.random.Generator) -> np.ndarray:
    """Static background ``(H, W, 3)`` float32: lit wall gradient, clutter blobs and shoulders."""
    h, w = domain.height, domain.width
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.asarray(domain.bg_rgb, np.float32) * rng.uniform(0.9, 1.1, size=3).astype(np.float32)
    grad = 1.0 + 0.15 * ((xx / w - 0.5) * rng.uniform(-1, 1) + (yy / h - 0.5) * rng.uniform(-1, 0.5))
    bg = base[None, None, :] * grad[..., None]
    n_blobs = int(round(domain.bg_clutter * 12))
    for _ in range(n_blobs):  # furniture, posters, doors: flat rectangles and ellipses
        col = tuple(float(c) for c in rng.uniform(40, 230, size=3))
        x0, y0 = int(rng.uniform(0, w)), int(rng.uniform(0, h))
        ww, hh = int(rng.uniform(0.05, 0.35) * w), int(rng.uniform(0.05, 0.5) * h)
        if rng.random() < 0.6:
            cv2.rectangle(bg, (x0, y0), (x0 + ww, y0 + hh), col, -1)
        else:
            cv2.ellipse(bg, (x0, y0), (ww // 2 + 1, hh // 2 + 1), 0, 0, 360, col, -1)
    # shoulders / torso under the face
    cx, cy = domain.face_center[0] * w, domain.face_center[1] * h
    fw = domain.face_px
    shirt = np.asarray(domain.shirt_rgb, np.float32) * rng.uniform(0.7, 1.3, size=3).astype(np.float32)
    cv2.ellipse(bg, (int(cx), int(cy + 1.45 * fw)), (int(1.25 * fw), int(0.75 * fw)), 0, 180, 360,
                tuple(float(c) for c in np.clip(shirt, 10, 240)), -1)
    cv2.rectangle(bg, (int(cx - 1.25 * fw), int(cy + 1.45 * fw)), (int(cx + 1.25 * fw), h),
                  tuple(float(c) for c in np.clip(shirt, 10, 240)), -1)
    bg = cv2.GaussianBlur(bg, (0, 0), 1.2)
    bg += rng.normal(0, 2.0, size=bg.shape).astype(np.float32)
    return np.clip(bg, 0, 255).astype(np.float32)


def _gauss(xx: np.ndarray, yy: np.ndarray, cx: float, cy: float, sx: float, sy: float) -> np.ndarray:
    return np.exp(-0.5 * (((xx - cx) / sx) ** 2 + ((yy - cy) / sy) ** 2))


class FaceRenderer:
    """Renders one subject in one imaging domain.

    Parameters
    ----------
    identity, domain:
        who and how.
    """

    def __init__(self, identity: Identity, domain: Domain):
        self.identity = identity
        self.domain = domain
        self.neutral = identity_shape(identity)  # (68, 2) template units
        self.s = domain.face_px / _JAW_WIDTH  # output px per template unit
        self.ss = SUPERSAMPLE
        self.side = int(np.ceil(_EXTENT * self.s))  # output layer side, px
        self.side_ss = self.side * self.ss
        self.skin = np.asarray(identity.skin_rgb, np.float32)
        self._skin_t = tuple(float(c) for c in self.skin)
        self._build_static_layer()

    # ------------------------------------------------------------------ coordinates
    def _to_ss(self, pts: np.ndarray) -> np.ndarray:
        """Template units -> supersampled layer px."""
        return (np.asarray(pts) - _ORIGIN) * self.s * self.ss

    def _fix(self, pts: np.ndarray) -> np.ndarray:
        """Template units -> fixed-point int32 points for cv2 drawing with ``shift``."""
        return np.round(self._to_ss(pts) * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2)

    def _len(self, template_len: float) -> int:
        return max(1, int(round(template_len * self.s * self.ss)))

    # ------------------------------------------------------------------ static layer
    def _build_static_layer(self) -> None:
        idn, n = self.identity, self.side_ss
        rng = np.random.default_rng(idn.texture_seed)
        g = (np.arange(n, dtype=np.float32) + 0.5) / (self.s * self.ss)
        xx, yy = np.meshgrid(g + _ORIGIN[0], g + _ORIGIN[1])
        m = self.neutral
        cx = float(m[[0, 16], 0].mean())
        jaw_half = float(m[16, 0] - m[0, 0]) / 2

        alpha = np.zeros((n, n), np.float32)
        rgb = np.zeros((n, n, 3), np.float32)
        skin = self.skin

        # hair behind the head
        hair_col = tuple(float(c) for c in idn.hair_rgb)
        vol = idn.hair_volume
        if vol > 0.0:
            hair_back = np.zeros((n, n), np.uint8)
            cv2.ellipse(hair_back, tuple(int(v) for v in self._to_ss([cx, 0.32])),
                        (self._len(jaw_half + 0.07 + 0.06 * vol), self._len(0.52 + 0.05 * vol)),
                        0, 180, 360, 255, -1)
            hb = hair_back > 0
            rgb[hb] = hair_col
            alpha[hb] = 1
        # neck
        neck = np.array([[cx - 0.2, 0.8], [cx + 0.2, 0.8], [cx + 0.24, 1.3], [cx - 0.24, 1.3]])
        neck_mask = np.zeros((n, n), np.uint8)
        cv2.fillPoly(neck_mask, [self._fix(neck)], 255, cv2.LINE_8, _SHIFT)
        # ears
        ear_mask = np.zeros((n, n), np.uint8)
        for ex in (m[0, 0] - 0.025, m[16, 0] + 0.025):
            cv2.ellipse(ear_mask, tuple(int(v) for v in self._to_ss([ex, 0.47])),
                        (self._len(0.045), self._len(0.11)), 0, 0, 360, 255, -1)
        # face: jaw + forehead arc
        th = np.linspace(0, np.pi, 25)
        fh_cy = float((m[0, 1] + m[16, 1]) / 2)
        arc = np.stack([cx + jaw_half * 1.02 * np.cos(th), fh_cy - 0.47 * np.sin(th)], axis=1)
        face_poly = np.concatenate([m[:17], arc[1:-1]])
        face_mask = np.zeros((n, n), np.uint8)
        cv2.fillPoly(face_mask, [self._fix(face_poly)], 255, cv2.LINE_8, _SHIFT)

        # Lambertian shading on an ellipsoid + feature shadows (template-unit grids)
        u = (xx - cx) / (jaw_half * 1.12)
        v = (yy - 0.52) / 0.66
        nz = np.sqrt(np.clip(1 - u**2 - v**2, 0.02, 1))
        nrm = np.sqrt(u**2 + v**2 + nz**2)
        light = np.array([0.15, -0.4, 1.0])
        light /= np.linalg.norm(light)
        lam = np.clip((u * light[0] + v * light[1] + nz * light[2]) / nrm, 0, 1)
        shade = 0.45 + 0.62 * lam
        for eye in (RIGHT_EYE, LEFT_EYE):
            ec = m[eye].mean(axis=0)
            shade -= 0.42 * _gauss(xx, yy, ec[0], ec[1] - 0.012, 0.075, 0.045)
        brow_y = float(m[17:27, 1].mean())
        shade += 0.06 * _gauss(xx, yy, cx, brow_y - 0.12, 0.2, 0.08)  # forehead highlight
        shade += 0.14 * _gauss(xx, yy, cx, 0.44, 0.022, 0.11)  # nose ridge highlight
        shade -= 0.12 * (_gauss(xx, yy, cx - 0.06, 0.47, 0.022, 0.08)
                         + _gauss(xx, yy, cx + 0.06, 0.47, 0.022, 0.08))  # nose sides
        shade -= 0.16 * _gauss(xx, yy, cx, float(m[33, 1]) + 0.03, 0.06, 0.016)  # under nose
        shade += 0.05 * (_gauss(xx, yy, cx - 0.22, 0.55, 0.07, 0.06)
                         + _gauss(xx, yy, cx + 0.22, 0.55, 0.07, 0.06))  # cheekbones
        shade -= 0.12 * _gauss(xx, yy, cx, float(m[57, 1]) + 0.05, 0.08, 0.02)  # under lip
        # skin texture: low-frequency mottling + fine pores
        low = cv2.resize(rng.standard_normal((12, 12)).astype(np.float32), (n, n),
                         interpolation=cv2.INTER_CUBIC)
        fine = cv2.GaussianBlur(rng.standard_normal((n, n)).astype(np.float32), (0, 0), 0.8)
        tex = 1 + 0.025 * low + 0.02 * fine
        skin_img = skin[None, None, :] * (shade * tex)[..., None]

        nm = neck_mask > 0
        rgb[nm] = skin_img[nm] * 0.72
        alpha[nm] = 1
        em = ear_mask > 0
        rgb[em] = skin * 0.78
        alpha[em] = 1
        fm = face_mask > 0
        rgb[fm] = skin_img[fm]
        alpha[fm] = 1
        skin_mask = (fm | nm | em).astype(np.float32)

        # hair cap over the forehead, above a curved hairline
        if vol > 0.0:
            hl = idn.hairline + 0.22 * ((xx - cx) / jaw_half) ** 2
            cap = (yy < hl) & (fm | em | (alpha > 0))
            hair_tex = 1 + 0.08 * cv2.GaussianBlur(rng.standard_normal((n, n)).astype(np.float32), (0, 0), 1.0)
            rgb[cap] = (np.asarray(idn.hair_rgb, np.float32)[None, :] * hair_tex[cap][:, None])
            skin_mask[cap] = 0
            alpha[cap] = 1

        # down-sampled static maps for per-frame work at output resolution
        small = (self.side, self.side)
        self.base_ss = rgb
        self.alpha = cv2.resize(alpha, small, interpolation=cv2.INTER_AREA)
        self.skin_mask = cv2.resize(skin_mask, small, interpolation=cv2.INTER_AREA)
        self.xmap = np.linspace(-1, 1, self.side, dtype=np.float32)[None, :, None]
        self._rgba = np.zeros((self.side, self.side, 4), np.float32)  # per-frame work buffer
        self._rgba[..., 3] = self.alpha
        self.colours = {
            # brows stay dark even under grey / blond hair: the eye-brow band is what
            # face detectors key on
            "brow": np.clip(np.asarray(idn.hair_rgb) * 0.5, 15, 70),
            "lash": np.array([28, 22, 20], np.float64),
            "sclera": np.array([190, 182, 176], np.float64),
            "iris": np.asarray(idn.iris_rgb, np.float64),
            "pupil": np.array([12, 10, 10], np.float64),
            "lip": np.asarray(idn.lip_rgb, np.float64),
            "mouth": np.array([55, 22, 26], np.float64),
            "teeth": np.array([225, 218, 205], np.float64),
        }

    # ------------------------------------------------------------------ dynamic parts
    def _dark(self, k: float) -> tuple[float, float, float]:
        """Skin colour darkened by ``k`` (0 = skin, 1 = black)."""
        r, g, b = self._skin_t
        return (r * (1 - k), g * (1 - k), b * (1 - k))

    def _poly(self, img, pts, col, closed=False, th=1):
        cv2.polylines(img, [self._fix(pts)], closed, tuple(float(c) for c in col), th, cv2.LINE_8, _SHIFT)

    def _draw_clipped(self, img: np.ndarray, clip_pts: np.ndarray, draw) -> None:
        """Run ``draw(roi, offset_px)`` on a copy of the ROI and paste it back inside ``clip_pts``."""
        p = self._to_ss(clip_pts)
        x0, y0 = np.floor(p.min(axis=0)).astype(int) - 2
        x1, y1 = np.ceil(p.max(axis=0)).astype(int) + 3
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, img.shape[1]), min(y1, img.shape[0])
        if x1 <= x0 or y1 <= y0:
            return
        roi = img[y0:y1, x0:x1]
        tmp = roi.copy()
        draw(tmp, np.array([x0, y0], float))
        mask = np.zeros(roi.shape[:2], np.uint8)
        pts = np.round((p - [x0, y0]) * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2)
        cv2.fillPoly(mask, [pts], 1, cv2.LINE_8, _SHIFT)
        np.copyto(roi, tmp, where=mask[..., None].astype(bool))

    def _draw_eye(self, img, shape, eye_idx, aus):
        pts = shape[eye_idx]
        height = float(np.linalg.norm(pts[[1, 2]].mean(0) - pts[[5, 4]].mean(0)))
        width = float(np.linalg.norm(pts[3] - pts[0]))
        c = self.colours
        # lid crease above the eye
        crease = pts[[0, 1, 2, 3]] + [0, -0.022]
        self._poly(img, crease, self._dark(0.35), th=self._len(0.006))
        if height > 0.004:
            centre = pts.mean(axis=0)
            iris_r = 0.23 * width
            iris_c = self._to_ss(centre + [0, -0.002])

            def draw(roi, off):
                roi[...] = c["sclera"]
                cc = tuple(int(v) for v in np.round((iris_c - off) * (1 << _SHIFT)))
                cv2.circle(roi, cc, int(iris_r * self.s * self.ss * (1 << _SHIFT)),
                           tuple(c["iris"]), -1, cv2.LINE_8, _SHIFT)
                cv2.circle(roi, cc, int(0.42 * iris_r * self.s * self.ss * (1 << _SHIFT)),
                           tuple(c["pupil"]), -1, cv2.LINE_8, _SHIFT)

            self._draw_clipped(img, pts, draw)
        # lashes (upper lid) and lower lid
        self._poly(img, pts[[0, 1, 2, 3]], c["lash"], th=self._len(0.009))
        self._poly(img, pts[[3, 4, 5, 0]], self._dark(0.4), th=self._len(0.004))
        # AU6/AU7: lower-lid bulge and crow's feet
        tight = max(aus.get("AU6", 0.0), aus.get("AU7", 0.0)) / 5
        if tight > 0.05:
            bulge = pts[[3, 4, 5, 0]] + [0, 0.018]
            self._poly(img, bulge, self._dark(0.45 * tight), th=self._len(0.006))
        cheek = aus.get("AU6", 0.0) / 5
        if cheek > 0.05:
            outer = pts[0] if eye_idx[0] == RIGHT_EYE[0] else pts[3]
            sign = -1 if eye_idx[0] == RIGHT_EYE[0] else 1
            for ang in (-25, 0, 25):
                a = np.deg2rad(ang)
                d = np.array([sign * np.cos(a), np.sin(a)])
                self._poly(img, np.stack([outer + d * 0.012, outer + d * 0.05]),
                           self._dark(0.4 * cheek), th=self._len(0.005))

    def _draw_brows(self, img, shape):
        for idx, inner_last in ((RIGHT_BROW, True), (LEFT_BROW, False)):
            pts = shape[idx]
            th = np.linspace(0.014, 0.03, 5) if inner_last else np.linspace(0.03, 0.014, 5)
            upper = pts - np.stack([np.zeros(5), th], 1)
            lower = pts + np.stack([np.zeros(5), th * 0.35], 1)
            poly = np.concatenate([upper, lower[::-1]])
            cv2.fillPoly(img, [self._fix(poly)], tuple(float(v) for v in self.colours["brow"]),
                         cv2.LINE_8, _SHIFT)

    def _draw_nose(self, img, shape, aus):
        self._poly(img, shape[31:36], self._dark(0.3), th=self._len(0.006))
        for i, dx in ((32, -0.004), (34, 0.004)):
            c = self._to_ss(shape[i] + [dx, -0.008])
            cv2.ellipse(img, tuple(int(v) for v in np.round(c * (1 << _SHIFT))),
                        (self._len(0.018) << _SHIFT, self._len(0.008) << _SHIFT), 0, 0, 360,
                        self._dark(0.62), -1, cv2.LINE_8, _SHIFT)
        for i, sx in ((31, -1), (35, 1)):  # alar creases
            p = shape[i]
            self._poly(img, np.stack([p + [sx * 0.004, 0.004], p + [sx * 0.018, -0.02],
                                      p + [sx * 0.01, -0.045]]), self._dark(0.3), th=self._len(0.005))
        au9 = aus.get("AU9", 0.0) / 5
        if au9 > 0.05:  # horizontal wrinkles over the nose bridge
            for y_off in (0.0, 0.02, 0.04):
                p = shape[28] + [0, y_off - 0.02]
                self._poly(img, np.stack([p - [0.035, 0], p + [0, 0.006], p + [0.035, 0]]),
                           self._dark(0.5 * au9), th=self._len(0.006))

    def _draw_folds(self, img, shape, aus):
        strength = 0.1 + 0.45 * max(aus.get("AU10", 0.0), aus.get("AU9", 0.0) * 0.8,
                                    aus.get("AU12", 0.0), aus.get("AU6", 0.0) * 0.5) / 5
        for wing, corner, sx in ((31, 48, -1), (35, 54, 1)):
            a = shape[wing] + [sx * 0.03, -0.01]
            b = shape[corner] + [sx * 0.035, 0.03]
            mid = (a + b) / 2 + [sx * 0.02, 0]
            self._poly(img, np.stack([a, mid, b]), self._dark(strength), th=self._len(0.007))
        au4 = aus.get("AU4", 0.0) / 5
        if au4 > 0.05:  # glabella furrows between the brows
            for dx in (-0.018, 0.018):
                p = (shape[21] + shape[22]) / 2 + [dx, 0]
                self._poly(img, np.stack([p + [0, -0.05], p + [dx * 0.2, 0.005]]),
                           self._dark(0.55 * au4), th=self._len(0.007))

    def _draw_mouth(self, img, shape):
        c = self.colours
        cv2.fillPoly(img, [self._fix(shape[OUTER_LIP])], tuple(c["lip"]), cv2.LINE_8, _SHIFT)
        inner = shape[60:68]
        gap = float(shape[[65, 66, 67], 1].mean() - shape[[61, 62, 63], 1].mean())
        if gap > 0.006:
            top = shape[[60, 61, 62, 63, 64]]
            teeth_h = min(0.5 * gap, 0.02)

            def draw(roi, off):
                roi[...] = c["mouth"]
                tp = np.concatenate([top, (top + [0, teeth_h])[::-1]])
                pts = np.round((self._to_ss(tp) - off) * (1 << _SHIFT)).astype(np.int32)
                cv2.fillPoly(roi, [pts.reshape(-1, 1, 2)], tuple(c["teeth"]), cv2.LINE_8, _SHIFT)

            self._draw_clipped(img, inner, draw)
        self._poly(img, shape[[60, 61, 62, 63, 64]], c["mouth"], th=self._len(0.006))
        self._poly(img, shape[[48, 60]], c["mouth"] * 1.4, th=self._len(0.004))
        self._poly(img, shape[[54, 64]], c["mouth"] * 1.4, th=self._len(0.004))

    # ------------------------------------------------------------------ frame
    def landmarks(self, aus: dict[str, float]) -> np.ndarray:
        """Canonical (template-unit) landmarks ``(68, 2)`` for an AU configuration."""
        return expression_shape(self.neutral, aus)

    def pose_matrix(self, pose: Pose) -> np.ndarray:
        """2x3 affine from output-resolution layer px to frame px."""
        d = self.domain
        anchor_layer = (_ANCHOR - _ORIGIN) * self.s
        centre = np.array([d.face_center[0] * d.width + pose.tx, d.face_center[1] * d.height + pose.ty])
        a = np.deg2rad(pose.roll)
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        squash = np.diag([1 - 0.35 * abs(pose.yaw), 1.0])
        shear = np.array([[1, 0], [0.12 * pose.yaw, 1]])
        lin = pose.scale * rot @ shear @ squash
        t = centre - lin @ anchor_layer
        return np.hstack([lin, t[:, None]])

    def render(
        self,
        aus: dict[str, float],
        pose: Pose,
        pulse: float,
        light: tuple[float, float],
        background: np.ndarray,
        noise: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Render one frame.

        Parameters
        ----------
        aus: AU name -> intensity (0-5; AU43/AU45 as eye closure 0-1).
        pose: head pose.
        pulse: pulse waveform value (about -1..1) at this frame.
        light: (global gain, side-light gradient).
        background: ``(H, W, 3)`` float32.
        noise: ``(H, W, 3)`` float32 camera noise in grey levels (or ``None``).

        Returns
        -------
        frame: ``(H, W, 3)`` uint8 RGB.
        landmarks: ``(68, 2)`` float64 frame pixel coordinates.
        """
        shape = self.landmarks(aus)
        img = self.base_ss.copy()
        self._draw_folds(img, shape, aus)
        self._draw_brows(img, shape)
        for eye in (RIGHT_EYE, LEFT_EYE):
            self._draw_eye(img, shape, eye, aus)
        self._draw_nose(img, shape, aus)
        self._draw_mouth(img, shape)
        # jaw line (follows AU26)
        self._poly(img, shape[3:14], self._dark(0.28), th=self._len(0.006))

        layer = cv2.resize(img, (self.side, self.side), interpolation=cv2.INTER_AREA)
        gain, side = light
        amp = self.domain.pulse_amp * self.identity.pulse_gain * pulse
        layer *= 1 + side * self.xmap
        layer += layer * (self.skin_mask[..., None] * (amp * PULSE_RGB))
        rgba = self._rgba
        np.multiply(layer, self.alpha[..., None], out=rgba[..., :3])
        m = self.pose_matrix(pose)
        d = self.domain
        warped = cv2.warpAffine(rgba, m, (d.width, d.height), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        a = warped[..., 3:4]
        frame = background * (1 - a) + warped[..., :3]
        frame *= gain
        if d.blur_sigma > 0:
            frame = cv2.GaussianBlur(frame, (0, 0), d.blur_sigma)
        if noise is not None:
            frame += noise
        out = np.clip(frame + 0.5, 0, 255).astype(np.uint8)
        lm_layer = (shape - _ORIGIN) * self.s
        lm = lm_layer @ m[:, :2].T + m[:, 2]
        return out, lm
