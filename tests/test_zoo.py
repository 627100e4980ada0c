"""keraslstm.zoo: every model of notebook 02 builds, trains a step and is scored."""

import numpy as np
import pytest

from keraslstm import zoo
from keraslstm.scorers import DigitScorer


@pytest.mark.parametrize("name", list(zoo.MODELS))
def test_every_model_builds_trains_and_samples(name):
    model = zoo.build(name, latent_dim=8, width=8, seed=0)
    rng = np.random.default_rng(0)
    images, labels = rng.random((64, 28, 28, 1)).astype("float32"), rng.integers(10, size=64)
    history, seconds = zoo.train(model, images, labels, epochs=1, batch_size=32)
    assert seconds > 0 and all(np.isfinite(v[-1]) for v in history.values())
    samples, asked = zoo.sample(model, 12)
    assert samples.shape == (12, 28, 28, 1)
    assert (asked is not None) == bool(zoo.MODELS[name][1].get("conditional"))


def test_unknown_model_lists_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown model 'BigGAN'; valid: GAN, DCGAN"):
        zoo.build("BigGAN")


def test_score_reports_class_accuracy_only_for_conditional_samples():
    rng = np.random.default_rng(1)
    real, fake = rng.random((120, 28, 28, 1)), rng.random((120, 28, 28, 1))
    scorer = DigitScorer()
    plain = zoo.score(scorer, real, fake)
    assert set(plain) == {"FID", "IS", "precision", "recall"}
    conditional = zoo.score(scorer, real, fake, fake_labels=np.arange(120) % 10)
    assert 0.0 <= conditional["class accuracy"] <= 1.0
