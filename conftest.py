"""pytest configuration shared by the unit tests and the notebooks run under nbval.

Quick mode is set here, before any kernel starts, so notebook kernels inherit it; and tests never
write the committed results (`KERASLSTM_WRITE_RESULTS` is dropped).
"""

import os

os.environ["KERASLSTM_MODE"] = "quick"
os.environ.pop("KERASLSTM_WRITE_RESULTS", None)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
