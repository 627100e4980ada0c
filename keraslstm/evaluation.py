"""Old name of `keraslstm.scorers`, kept so code written against it still imports."""

from keraslstm.scorers import *  # noqa: F403
from keraslstm.scorers import __all__  # noqa: F401
