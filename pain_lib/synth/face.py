"""The 68-point (iBUG / Multi-PIE) face model: mean shape, identity and action-unit geometry.

Coordinates are *template units*: the dlib/OpenFace mean face, x to the right, y down,
the jaw spanning x = 0.08 .. 0.97 and the chin at y = 1.06 (brows at y ~ 0.2).  Every shape
array is ``(68, 2)`` float64 ``(x, y)``.

Point groups (0-based, iBUG numbering minus one)::

    0-16  jaw (subject's right ear -> chin -> left ear)
    17-21 right brow    22-26 left brow
    27-30 nose bridge   31-35 nose base (nostrils)
    36-41 right eye     42-47 left eye   (36/39 and 42/45 are the eye corners)
    48-59 outer lip     60-67 inner lip  (48/54 mouth corners)

Identity = the mean shape plus a few linear shape modes (face width, jaw length, eye spacing,
nose length, mouth width, brow height, eye size, lip thickness), a skin tone, hair, iris
colour, a texture seed and per-AU expressiveness gains.  Action units move landmarks by
displacement fields proportional to intensity / 5 (:func:`expression_shape`); eye closure
(AU43 / AU45) pulls the upper lid onto the lower one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "MEAN_SHAPE",
    "JAW",
    "RIGHT_BROW",
    "LEFT_BROW",
    "NOSE_BRIDGE",
    "NOSE_BASE",
    "RIGHT_EYE",
    "LEFT_EYE",
    "OUTER_LIP",
    "INNER_LIP",
    "AAM66_INDEX",
    "SHAPE_MODE_NAMES",
    "Identity",
    "sample_identity",
    "identity_shape",
    "expression_shape",
]

#: Mean 68-point face (dlib / OpenFace ``align_dlib.TEMPLATE``), template units.
MEAN_SHAPE = np.array(
    [
        (0.0792396913815, 0.339223741112), (0.0829219487236, 0.456955367943),
        (0.0967927109165, 0.575648016728), (0.122141515615, 0.691921601066),
        (0.168687863544, 0.800341263616), (0.239789390707, 0.895732504778),
        (0.325662452515, 0.977068762493), (0.422318282013, 1.04329000149),
        (0.531777802068, 1.06080371126), (0.641296298053, 1.03981924107),
        (0.738105872266, 0.972268833998), (0.824444363295, 0.889624082279),
        (0.894792677532, 0.792494155836), (0.939395486253, 0.681546643421),
        (0.96111933829, 0.562238253072), (0.970579841181, 0.441758925744),
        (0.971193274221, 0.322118743967), (0.163846223133, 0.249151738053),
        (0.21780354657, 0.204255863861), (0.291299351124, 0.192367318323),
        (0.367460241458, 0.203582210627), (0.4392945113, 0.233135599851),
        (0.586445962425, 0.228141644834), (0.660152671635, 0.195923841854),
        (0.737466449096, 0.182360984545), (0.813236546239, 0.192828009114),
        (0.8707571886, 0.235293377042), (0.51534533827, 0.31863546193),
        (0.516221448289, 0.396200446263), (0.517118861835, 0.473797687758),
        (0.51816430343, 0.553157797772), (0.433701156035, 0.604054457668),
        (0.475501237769, 0.62076344024), (0.520712933176, 0.634268222208),
        (0.565874114041, 0.618796581487), (0.607054002672, 0.60157671656),
        (0.252418718401, 0.331052263829), (0.298663015648, 0.302646354002),
        (0.355749724218, 0.303020650651), (0.403718978315, 0.33867711083),
        (0.352507175597, 0.349987615384), (0.296791759886, 0.350478978225),
        (0.631326076346, 0.334136672344), (0.679073381078, 0.29645404267),
        (0.73597236153, 0.294721285802), (0.782865376271, 0.321305281656),
        (0.740312274764, 0.341849376713), (0.68499850091, 0.343734332172),
        (0.353167761422, 0.746189164237), (0.414587777921, 0.719053835073),
        (0.477677654595, 0.706835892494), (0.522732900812, 0.717092275768),
        (0.569832064287, 0.705414478982), (0.635195811927, 0.71565572516),
        (0.69951672331, 0.739419187253), (0.639447159575, 0.805236879972),
        (0.576410514055, 0.835436670169), (0.525398405766, 0.841706377792),
        (0.47641545769, 0.837505914975), (0.41379548902, 0.810045601727),
        (0.380084785646, 0.749979603086), (0.477955996282, 0.74513234612),
        (0.523389793327, 0.748924302636), (0.571057789237, 0.74332894691),
        (0.672409137852, 0.744177032192), (0.572539621444, 0.776609286626),
        (0.5240106503, 0.783370783245), (0.477561227414, 0.778476346951),
    ],
    dtype=np.float64,
)
MEAN_SHAPE.setflags(write=False)

JAW = np.arange(0, 17)
RIGHT_BROW = np.arange(17, 22)
LEFT_BROW = np.arange(22, 27)
NOSE_BRIDGE = np.arange(27, 31)
NOSE_BASE = np.arange(31, 36)
RIGHT_EYE = np.arange(36, 42)
LEFT_EYE = np.arange(42, 48)
OUTER_LIP = np.arange(48, 60)
INNER_LIP = np.arange(60, 68)
#: the 66-point AAM scheme of UNBC-McMaster = iBUG 68 without the inner mouth corners 60, 64
AAM66_INDEX = np.array([i for i in range(68) if i not in (60, 64)])

_CENTER_X = 0.5225  # facial midline of the mean shape


def _mode(fn) -> np.ndarray:
    d = np.zeros((68, 2))
    fn(d, MEAN_SHAPE)
    return d


def _face_width(d, m):
    d[:, 0] = m[:, 0] - _CENTER_X
    d[:17, 0] *= 1.0
    d[17:, 0] *= 0.3  # inner features widen less than the jaw


def _jaw_length(d, m):
    lower = m[:, 1] > 0.62
    d[lower, 1] = (m[lower, 1] - 0.62) * 1.0
    d[OUTER_LIP, 1] = 0.45 * (m[OUTER_LIP, 1] - 0.62)
    d[INNER_LIP, 1] = 0.45 * (m[INNER_LIP, 1] - 0.62)


def _eye_spacing(d, m):
    for grp in (RIGHT_EYE, RIGHT_BROW):
        d[grp, 0] = -1.0
    for grp in (LEFT_EYE, LEFT_BROW):
        d[grp, 0] = 1.0
    d *= 0.1


def _nose_length(d, m):
    d[NOSE_BRIDGE, 1] = np.linspace(0, 1, 4) * 0.4
    d[NOSE_BASE, 1] = 0.5


def _mouth_width(d, m):
    d[OUTER_LIP, 0] = m[OUTER_LIP, 0] - _CENTER_X
    d[INNER_LIP, 0] = m[INNER_LIP, 0] - _CENTER_X


def _brow_height(d, m):
    d[17:27, 1] = -0.5


def _eye_size(d, m):
    for grp in (RIGHT_EYE, LEFT_EYE):
        c = m[grp].mean(axis=0)
        d[grp] = m[grp] - c


def _lip_thickness(d, m):
    upper = [49, 50, 51, 52, 53]
    lower = [55, 56, 57, 58, 59]
    d[upper, 1] = -0.4
    d[lower, 1] = 0.6


_MODES = [
    ("face_width", _face_width, 0.06),
    ("jaw_length", _jaw_length, 0.05),
    ("eye_spacing", _eye_spacing, 0.07),
    ("nose_length", _nose_length, 0.03),
    ("mouth_width", _mouth_width, 0.09),
    ("brow_height", _brow_height, 0.015),
    ("eye_size", _eye_size, 0.06),
    ("lip_thickness", _lip_thickness, 0.008),
]
SHAPE_MODE_NAMES = tuple(name for name, _, _ in _MODES)
#: (n_modes, 68, 2) displacement per unit coefficient (std of a coefficient = 1)
SHAPE_MODES = np.stack([_mode(fn) * scale for _, fn, scale in _MODES])
SHAPE_MODES.setflags(write=False)

#: pain and distractor action units the simulator knows (FACS numbers as names)
AU_NAMES = ("AU4", "AU6", "AU7", "AU9", "AU10", "AU12", "AU25", "AU26", "AU43", "AU45")


@dataclass(frozen=True)
class Identity:
    """Per-subject appearance, expressiveness and physiology.

    Colours are RGB floats in 0-255.  ``au_gain`` maps an AU name to the fraction of the
    pain envelope it follows (0-1.2); ``expressiveness`` scales all of them.
    """

    shape_coeffs: np.ndarray  # (n_modes,)
    skin_rgb: np.ndarray  # (3,)
    hair_rgb: np.ndarray  # (3,)
    iris_rgb: np.ndarray  # (3,)
    lip_rgb: np.ndarray  # (3,)
    hairline: float  # template y of the hairline (smaller = more forehead hair)
    hair_volume: float  # 0 (bald) .. 1
    texture_seed: int
    expressiveness: float
    au_gain: dict[str, float] = field(default_factory=dict)
    speed: str = "medium"  # preferred onset/offset speed class: slow | medium | sudden
    hr_base: float = 70.0  # resting heart rate, bpm
    hr_gain: float = 2.5  # heart-rate rise per stimulus level (0-4), bpm
    resp_hz: float = 0.25  # respiration rate, Hz
    rsa_bpm: float = 2.0  # respiratory sinus arrhythmia amplitude, bpm
    pulse_gain: float = 1.0  # relative rPPG amplitude (skin perfusion)
    blink_per_min: float = 15.0
    sex: str = "w"  # "m" | "w"
    age: int = 30


def sample_identity(rng: np.random.Generator, *, skin_tones: np.ndarray | None = None,
                    speed_probs: dict[str, float] | None = None) -> Identity:
    """Draw one subject.

    ``skin_tones`` is an optional ``(K, 3)`` RGB palette the flavour's population is drawn
    from (the *identity mix* of a domain); ``speed_probs`` the prior over speed classes.
    """
    if skin_tones is None:
        skin_tones = np.array([[224, 184, 156], [198, 150, 118], [160, 114, 84], [236, 198, 172]], float)
    u = rng.uniform(0.92, 1.06, size=3)  # brightness and a little hue variation around the palette
    tone = skin_tones[rng.integers(len(skin_tones))] * u.mean() * (1 + 0.25 * (u - u.mean()))
    hair_dark = rng.uniform(0.1, 0.6)
    hair = np.array([110, 80, 55]) * hair_dark + rng.uniform(-8, 8, size=3)
    if rng.random() < 0.15:  # grey / blond minority
        hair = np.array([175, 160, 130]) * rng.uniform(0.7, 1.0)
    iris = np.array([[70, 45, 25], [45, 70, 95], [65, 78, 50], [40, 28, 20]], float)[rng.integers(4)]
    lip = tone * np.array([0.76, 0.52, 0.52])
    expressiveness = float(rng.uniform(0.6, 1.15))
    au_gain = {
        "AU4": rng.uniform(0.55, 1.0),
        "AU6": rng.uniform(0.5, 1.0),
        "AU7": rng.uniform(0.5, 1.0),
        "AU9": rng.uniform(0.2, 0.9),
        "AU10": rng.uniform(0.2, 0.9),
        "AU43": rng.uniform(0.0, 1.0),  # propensity to close the eyes at strong pain
    }
    speeds = speed_probs or {"slow": 1 / 3, "medium": 1 / 3, "sudden": 1 / 3}
    speed = str(rng.choice(list(speeds), p=np.array(list(speeds.values())) / sum(speeds.values())))
    sex = "m" if rng.random() < 0.5 else "w"
    return Identity(
        shape_coeffs=rng.standard_normal(len(_MODES)).clip(-2.0, 2.0),
        skin_rgb=np.clip(tone, 40, 250),
        hair_rgb=np.clip(hair, 5, 230),
        iris_rgb=iris,
        lip_rgb=np.clip(lip, 30, 240),
        hairline=float(rng.uniform(-0.08, 0.06)),
        hair_volume=float(rng.uniform(0.0, 1.0) if rng.random() > 0.1 else 0.0),
        texture_seed=int(rng.integers(2**31)),
        expressiveness=expressiveness,
        au_gain={k: float(v) for k, v in au_gain.items()},
        speed=speed,
        hr_base=float(np.clip(rng.normal(71, 8), 55, 95)),
        hr_gain=float(np.clip(rng.normal(2.6, 0.8), 0.9, 4.5)),
        resp_hz=float(rng.uniform(0.2, 0.32)),
        rsa_bpm=float(rng.uniform(1.0, 2.5)),
        pulse_gain=float(rng.uniform(0.85, 1.2)),
        blink_per_min=float(rng.uniform(8, 20)),
        sex=sex,
        age=int(rng.integers(18, 66)),
    )


def identity_shape(identity: Identity) -> np.ndarray:
    """Neutral landmarks ``(68, 2)`` of a subject (mean shape + shape modes), lips closed."""
    shape = MEAN_SHAPE + np.tensordot(identity.shape_coeffs, SHAPE_MODES, axes=1)
    # the mean shape has parted lips; a neutral face keeps them together
    upper, lower = [61, 62, 63], [67, 66, 65]
    mid = (shape[upper, 1] + shape[lower, 1]) / 2
    shape[upper, 1] = mid
    shape[lower, 1] = mid
    return shape


def _au_field(fn) -> np.ndarray:
    d = np.zeros((68, 2))
    fn(d)
    return d


def _au4(d):  # brow lowerer: brows down, inner ends down and together
    d[17:27, 1] = 0.035
    d[[20, 21], 1] += 0.02
    d[[22, 23], 1] += 0.02
    d[[21, 20], 0] += [0.022, 0.01]
    d[[22, 23], 0] -= [0.022, 0.01]


def _au6(d):  # cheek raiser: lower lids and outer eye corners up
    d[[40, 41, 46, 47], 1] = -0.012
    d[[36, 45], 1] = -0.008
    d[[1, 15], 1] = -0.01


def _au7(d):  # lid tightener: lower lids up, upper lids slightly down
    d[[40, 41, 46, 47], 1] = -0.016
    d[[37, 38, 43, 44], 1] = 0.008


def _au9(d):  # nose wrinkler: nostrils and upper lip up, inner brows down
    d[31:36, 1] = -0.018
    d[[31, 35], 0] = [-0.006, 0.006]
    d[[50, 51, 52, 61, 62, 63], 1] = -0.012
    d[[21, 22], 1] = 0.012


def _au10(d):  # upper lip raiser
    d[[49, 50, 51, 52, 53], 1] = -0.032
    d[[61, 62, 63], 1] = -0.028
    d[[48, 54], 1] = -0.01
    d[[31, 35], 0] = [-0.004, 0.004]


def _au12(d):  # lip corner puller (smile)
    d[[48, 60], 0] = -0.035
    d[[54, 64], 0] = 0.035
    d[[48, 60, 54, 64], 1] = -0.03
    d[[49, 59, 67], 0] = -0.015
    d[[53, 55, 65], 0] = 0.015
    d[[49, 53], 1] = -0.012


def _au25(d):  # lips part
    d[[61, 62, 63], 1] = -0.008
    d[[65, 66, 67], 1] = 0.02
    d[[55, 56, 57, 58, 59], 1] = 0.014


def _au26(d):  # jaw drop
    d[4:13, 1] = np.array([0.01, 0.025, 0.045, 0.06, 0.065, 0.06, 0.045, 0.025, 0.01])
    d[[55, 56, 57, 58, 59], 1] = 0.06
    d[[65, 66, 67], 1] = 0.055


#: landmark displacement (68, 2) at intensity 5 of each AU (template units)
AU_FIELDS = {
    "AU4": _au_field(_au4),
    "AU6": _au_field(_au6),
    "AU7": _au_field(_au7),
    "AU9": _au_field(_au9),
    "AU10": _au_field(_au10),
    "AU12": _au_field(_au12),
    "AU25": _au_field(_au25),
    "AU26": _au_field(_au26),
}

_UPPER_LID = {37: 41, 38: 40, 43: 47, 44: 46}  # upper-lid point -> lower-lid point below it


def expression_shape(neutral: np.ndarray, aus: dict[str, float]) -> np.ndarray:
    """Landmarks ``(68, 2)`` of a face showing ``aus`` (AU name -> intensity 0-5, continuous).

    Eye closure is ``max(AU43, AU45)`` in 0-1 (AU43/AU45 are given as 0-1 closure).
    """
    shape = neutral.copy()
    for name, fld in AU_FIELDS.items():
        v = aus.get(name, 0.0)
        if v:
            shape += fld * (v / 5.0)
    closure = float(np.clip(max(aus.get("AU43", 0.0), aus.get("AU45", 0.0)), 0.0, 1.0))
    if closure > 0:
        up = np.fromiter(_UPPER_LID.keys(), int)
        lo = np.fromiter(_UPPER_LID.values(), int)
        target = shape[lo] - np.array([0.0, 0.004])
        shape[up] += (target - shape[up]) * closure
    return shape
