"""GANs for notebook 02 (seed 001): the original GAN, DCGAN, CGAN, LSGAN and WGAN-GP.

One `GAN` model takes a generator, a discriminator (logits out) and a loss variant:
`"minimax"` and `"non_saturating"` (Goodfellow 2014), `"lsgan"` (Mao 2017) and `"wgan_gp"`
(Gulrajani 2017: Wasserstein critic plus a gradient penalty on interpolates). The networks
come from `keraslstm.networks`. With
`num_classes`, both networks also take a one-hot label (CGAN, Mirza 2014). The train step uses
`tf.GradientTape`, so it needs the TensorFlow backend; the loss functions are `keras.ops`.
"""

import keras
import numpy as np
from keras import ops

from keraslstm.networks import latent_inputs

__all__ = [
    "LOSSES",
    "GAN",
    "SampleGrid",
    "discriminator_loss",
    "generator_loss",
    "interpolates",
    "gradient_penalty",
]

LOSSES = ("minimax", "non_saturating", "lsgan", "wgan_gp")


def _check_loss(loss):
    if loss not in LOSSES:
        raise ValueError(f"Unknown GAN loss {loss!r}; valid: {', '.join(map(repr, LOSSES))}")


def discriminator_loss(loss, real_logits, fake_logits):
    """What the discriminator (critic) minimises, without the gradient penalty."""
    _check_loss(loss)
    if loss == "lsgan":
        return 0.5 * ops.mean((real_logits - 1.0) ** 2) + 0.5 * ops.mean(fake_logits**2)
    if loss == "wgan_gp":
        return ops.mean(fake_logits) - ops.mean(real_logits)
    # -log D(x) - log(1 - D(G(z))), with D = sigmoid(logits)
    return ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))


def generator_loss(loss, fake_logits):
    """What the generator minimises."""
    _check_loss(loss)
    if loss == "minimax":
        return -ops.mean(ops.softplus(fake_logits))  # log(1 - D(G(z))): saturates early on
    if loss == "non_saturating":
        return ops.mean(ops.softplus(-fake_logits))  # -log D(G(z))
    if loss == "lsgan":
        return 0.5 * ops.mean((fake_logits - 1.0) ** 2)
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


@keras.saving.register_keras_serializable(package="keraslstm")
class GAN(keras.Model):
    """Adversarial training of `generator` against `discriminator` with one of `LOSSES`.

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
        _check_loss(loss)
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
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.d_optimizer = d_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5)

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
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(self._with_label(images, labels), training=True)
            fake_logits = self.discriminator(self._with_label(fake, labels), training=True)
            loss = discriminator_loss(self.loss_kind, real_logits, fake_logits)
            if self.loss_kind == "wgan_gp":
                points = interpolates(images, fake, seed=self.seed_generator)
                critic = lambda p: self.discriminator(self._with_label(p, labels), training=True)  # noqa: E731
                loss = loss + self.gp_weight * gradient_penalty(critic, points)
        weights = self.discriminator.trainable_weights
        self.d_optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights, strict=True))
        return loss

    def g_step(self, batch_size, labels=None):
        """One generator update; returns its loss before the update."""
        import tensorflow as tf

        with tf.GradientTape() as tape:
            fake = self(self._noise(batch_size), labels, training=True)
            logits = self.discriminator(self._with_label(fake, labels), training=True)
            loss = generator_loss(self.loss_kind, logits)
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
