"""Every unit test starts from the same random state, whatever ran before it.

Tests draw their data from their own `np.random.default_rng(seed)`; this also fixes what they do
not draw themselves (Keras weight initializers, `keras.random`, NumPy's and Python's globals).
"""

import pytest


@pytest.fixture(autouse=True)
def _same_random_state_for_every_test():
    import keras

    keras.utils.set_random_seed(0)
