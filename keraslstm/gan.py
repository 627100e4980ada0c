"""GANs for notebook 02 (Li's survey): the original GAN, DCGAN, CGAN, LSGAN and WGAN-GP.

One `GAN` model takes a generator, a discriminator (logits out) and a loss variant from the
table `LOSSES`: each entry is a `GANLoss`, a (discriminator loss, generator loss) pair of
`keras.ops` functions of the logits, plus an optional penalty on the critic's gradient:

| name | discriminator | generator | penalty |
|---|---|---|---|
| `"minimax"` (Goodfellow 2014) | cross-entropy | `log(1 - D(G(z)))` | - |
| `"non_saturating"` (Goodfellow 2014) | cross-entropy | `-log D(G(z))` | - |
| `"lsgan"` (Mao 2017) | squared error to 1 and 0 | squared error to 1 | - |
| `"wgan_gp"` (Gulrajani 2017) | Wasserstein critic | `-critic(G(z))` | `gradient_penalty` |

The networks come from `keraslstm.networks`. With `num_classes`, both networks also take a
one-hot label (CGAN, Mirza 2014). The train step uses `tf.GradientTape`, so it needs the
TensorFlow backend: `compile` says so under any other (generating from loaded weights works
everywhere).
"""

from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from keraslstm.networks import latent_inputs
from keraslstm.optimizers import built

__all__ = [
    "GANLoss",
    "LOSSES",
    "GAN",
    "SampleGrid",
    "discriminator_loss",
    "generator_loss",
    "cross_entropy_discriminator",
    "minimax_generator",
    "non_saturating_generator",
    "least_squares_discriminator",
    "least_squares_generator",
    "wasserstein_critic",
    "wasserstein_generator",
    "interpolates",
    "gradient_penalty",
    "require_tensorflow",
]


def cross_entropy_discriminator(real_logits, fake_logits):
    """`-log D(x) - log(1 - D(G(z)))` with `D = sigmoid(logits)`, as softplus for stability."""
    return ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))


def minimax_generator(fake_logits):
    """`log(1 - D(G(z)))`: the original game; its gradient vanishes while D wins (early on)."""
    return -ops.mean(ops.softplus(fake_logits))


def non_saturating_generator(fake_logits):
    """`-log D(G(z))`: the same fixed point, strong gradients while D wins."""
    return ops.mean(ops.softplus(-fake_logits))


def least_squares_discriminator(real_logits, fake_logits):
    """LSGAN: real scores pulled to 1, fake scores to 0 by squared errors."""
    return 0.5 * ops.mean((real_logits - 1.0) ** 2) + 0.5 * ops.mean(fake_logits**2)


def least_squares_generator(fake_logits):
    """LSGAN: fake scores pulled to 1; the gradient grows with the distance, it never saturates."""
    return 0.5 * ops.mean((fake_logits - 1.0) ** 2)


def wasserstein_critic(real_logits, fake_logits):
    """WGAN: the critic widens the gap of its mean scores (an estimate of the W1 distance)."""
    return ops.mean(fake_logits) - ops.mean(real_logits)


def wasserstein_generator(fake_logits):
    """WGAN: the generator raises the critic's score of its samples."""
    return -ops.mean(fake_logits)


def interpolates(real, fake, seed=None):
    """Random points on the segments between real and fake samples (one mixing weight per sample)."""
    shape = (ops.shape(real)[0],) + (1,) * (len(real.shape) - 1)
    alpha = keras.random.uniform(shape, seed=seed, dtype=real.dtype)
    return real + alpha * (fake - real)


def gradient_penalty(critic_fn, points):
    """Mean of (||grad_x critic(x)|| - 1)^2 over `points` (TensorFlow backend)."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(points)
        scores = critic_fn(points)
    grads = tape.gradient(scores, points)
    norms = ops.sqrt(ops.sum(ops.reshape(grads, (ops.shape(grads)[0], -1)) ** 2, axis=1) + 1e-12)
    return ops.mean((norms - 1.0) ** 2)


@dataclass(frozen=True)
class GANLoss:
    """One GAN variant: what the discriminator and the generator minimise, given logits.

    `penalty(critic_fn, points)`, when set, is added to the discriminator's loss (times the
    model's `gp_weight`) on random points between real and fake samples.
    """

    discriminator: Callable
    generator: Callable
    penalty: Callable | None = None


LOSSES = {
    "minimax": GANLoss(cross_entropy_discriminator, minimax_generator),
    "non_saturating": GANLoss(cross_entropy_discriminator, non_saturating_generator),
    "lsgan": GANLoss(least_squares_discriminator, least_squares_generator),
    "wgan_gp": GANLoss(wasserstein_critic, wasserstein_generator, penalty=gradient_penalty),
    # a control for notebook 02: the standard losses with WGAN-GP's penalty attached
    "non_saturating_gp": GANLoss(
        cross_entropy_discriminator, non_saturating_generator, penalty=gradient_penalty
    ),
}


def require_tensorflow(model):
    """Refuse to compile `model` for training on a backend other than TensorFlow, naming it."""
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise NotImplementedError(
            f"{type(model).__name__} trains only on the TensorFlow backend (its train_step uses "
            f"tf.GradientTape); KERAS_BACKEND is {backend!r}. Train it under TensorFlow; its "
            f"saved weights load and generate under {backend!r}."
        )


def _variant(loss):
    if loss not in LOSSES:
        raise ValueError(f"Unknown GAN loss {loss!r}; valid: {', '.join(map(repr, LOSSES))}")
    return LOSSES[loss]


def discriminator_loss(loss, real_logits, fake_logits):
    """What the discriminator (critic) of variant `loss` minimises, without the penalty."""
    return _variant(loss).discriminator(real_logits, fake_logits)


def generator_loss(loss, fake_logits):
    """What the generator of variant `loss` minimises."""
    return _variant(loss).generator(fake_logits)


@keras.saving.register_keras_serializable(package="keraslstm")
class GAN(keras.Model):
    """Adversarial training of `generator` against `discriminator` with a variant of `LOSSES`.

    `fit(images)` or, with `num_classes`, `fit((images, labels))` (integer labels). Each step
    trains the discriminator `d_steps` times, then the generator once; `d_loss` and `g_loss`
    are tracked. Compile with `compile(g_optimizer=..., d_optimizer=...)`.
    """

    def __init__(
        self,
        generator,
        discriminator,
        latent_dim,
        loss="non_saturating",
        num_classes=None,
        d_steps=1,
        gp_weight=10.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.variant = _variant(loss)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.loss_kind = loss
        self.num_classes = num_classes
        self.d_steps = int(d_steps)
        self.gp_weight = float(gp_weight)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    def compile(self, g_optimizer=None, d_optimizer=None, **kwargs):
        require_tensorflow(self)
        super().compile(**kwargs)
        adam = lambda: keras.optimizers.Adam(2e-4, beta_1=0.5)  # noqa: E731
        self.g_optimizer = built(g_optimizer or adam(), self.generator.trainable_weights)
        self.d_optimizer = built(d_optimizer or adam(), self.discriminator.trainable_weights)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def _with_label(self, x, labels):
        return x if self.num_classes is None else [x, labels]

    def call(self, z, labels=None, training=False):
        return self.generator(self._with_label(z, labels), training=training)

    def _split(self, data):
        """Images and one-hot labels from `fit(images)`, `fit((images, labels))` or `fit(images, labels)`."""
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        images, labels = x if isinstance(x, (tuple, list)) else (x, y)
        if self.num_classes is None:
            return images, None
        if labels is None:
            raise ValueError("this GAN is conditional: fit it on (images, integer labels)")
        return images, ops.one_hot(ops.cast(labels, "int32"), self.num_classes)

    def _noise(self, n):
        return keras.random.normal((n, self.latent_dim), seed=self.seed_generator)

    def d_step(self, images, labels=None):
        """One discriminator update on a real batch; returns its loss before the update."""
        import tensorflow as tf

        fake = self(self._noise(ops.shape(images)[0]), labels, training=True)
        critic = lambda x: self.discriminator(self._with_label(x, labels), training=True)  # noqa: E731
        with tf.GradientTape() as tape:
            loss = self.variant.discriminator(critic(images), critic(fake))
            if self.variant.penalty is not None:  # WGAN-GP: keep the critic 1-Lipschitz
                points = interpolates(images, fake, seed=self.seed_generator)
                loss = loss + self.gp_weight * self.variant.penalty(critic, points)
        weights = self.discriminator.trainable_weights
        self.d_optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights, strict=True))
        return loss

    def g_step(self, batch_size, labels=None):
        """One generator update; returns its loss before the update."""
        import tensorflow as tf

        with tf.GradientTape() as tape:
            fake = self(self._noise(batch_size), labels, training=True)
            logits = self.discriminator(self._with_label(fake, labels), training=True)
            loss = self.variant.generator(logits)
        weights = self.generator.trainable_weights
        self.g_optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights, strict=True))
        return loss

    def train_step(self, data):
        images, labels = self._split(data)
        for _ in range(self.d_steps):
            d_loss = self.d_step(images, labels)
        g_loss = self.g_step(ops.shape(images)[0], labels)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}

    def generate(self, n=None, labels=None, z=None, seed=0):
        """`n` images (or one per row of `z`) as a NumPy array; `labels` are integers for a CGAN."""
        z, onehot = latent_inputs(self.latent_dim, self.num_classes, n, labels, z, seed)
        return ops.convert_to_numpy(self(z, onehot, training=False))

    def get_config(self):
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "loss": self.loss_kind,
            "num_classes": self.num_classes,
            "d_steps": self.d_steps,
            "gp_weight": self.gp_weight,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("generator", "discriminator"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


class SampleGrid(keras.callbacks.Callback):
    """Generates the same `n` samples at the end of every epoch and keeps them in `grids`.

    For a conditional model the samples cycle through the classes. With `name`, each epoch's
    grid is also saved as `results/figures/<name>_epoch<k>.png`.
    """

    def __init__(self, n=16, name=None, seed=0):
        super().__init__()
        self.n, self.name, self.seed = n, name, seed
        self.grids = []

    def on_epoch_end(self, epoch, logs=None):
        classes = getattr(self.model, "num_classes", None)
        labels = np.arange(self.n) % classes if classes else None
        self.grids.append(self.model.generate(self.n, labels=labels, seed=self.seed))
        if self.name:
            import matplotlib.pyplot as plt

            from keraslstm.plotting import image_grid, save_fig

            fig = image_grid(self.grids[-1], ncols=8, suptitle=f"{self.name}, epoch {epoch + 1}")
            save_fig(f"{self.name}_epoch{epoch + 1:03d}", fig)
            plt.close(fig)
