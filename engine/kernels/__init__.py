"""numba kernels: the only package that imports numba.

Every loop over samples or steps lives here. Kernels are flat loops with explicit outputs,
compiled on first use with ``cache=True`` (nothing compiles at import time), and each
docstring names the Prometheus code it mirrors. Inputs are CSR sample columns
(``ts``/``values``) plus per-step window bounds from :mod:`engine.kernels.windows`.
"""
