"""pain_lib: the library behind the pain-estimation paper companion notebooks.

Sub-modules: ``config`` (profiles, device, seeds), ``notebook`` (the call a notebook makes
after its parameters cell), ``report`` (paper values, side-by-side tables, results files),
``registry`` and ``runner`` (notebook execution), ``synth`` (simulator), ``data`` (loaders),
``preprocess`` (video representations), ``models``, ``train``, ``metrics``.
"""

__version__ = "0.1.0"
