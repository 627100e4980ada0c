"""pytest configuration shared by the unit tests and the notebooks run under nbval.

Quick mode is set here, before any kernel starts, so notebook kernels inherit it.
"""

import os

os.environ["KERASLSTM_QUICK"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
