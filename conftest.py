"""pytest configuration shared by the unit tests and the notebooks run under nbval.

Quick mode is set here, before any kernel starts, so notebook kernels inherit it; and tests never
write the committed results (`KERASLSTM_WRITE_RESULTS` is dropped). Under pytest-xdist each worker
(and the kernels and processes it starts) gets one TensorFlow and OpenMP thread: `make test` runs
one worker per core, and two workers of two threads each on 2 cores ran notebooks 01 and 04 8-10 %
slower (176 and 195 s against 163 and 176 s, in alternating order).
"""

import os

os.environ["KERASLSTM_MODE"] = "quick"
os.environ.pop("KERASLSTM_WRITE_RESULTS", None)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    for threads in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(threads, "1")
