"""VAEs for notebook 02 (Li's survey): VAE, beta-VAE, conditional VAE, deep VAE and VAE-GAN.

`VAE` minimises reconstruction (Bernoulli cross-entropy summed over pixels) plus `beta` times
the KL divergence to N(0, I) (Kingma 2014; beta-VAE: Higgins 2017), through `compute_loss`, so
its training is backend-agnostic. `num_classes` conditions encoder and decoder on a one-hot label
(CVAE, Sohn 2015); `hidden` sets the depth (deep VAE). `VAEGAN` adds a discriminator on the
decoder's outputs (Larsen 2016) and trains with two optimizers (TensorFlow backend only; its
`compile` says so under any other).
"""

import keras
from keras import ops

from keraslstm.gan import discriminator_loss, generator_loss, require_tensorflow
from keraslstm.networks import latent_inputs
from keraslstm.optimizers import built

__all__ = ["VAE", "VAEGAN", "kl_divergence"]


def kl_divergence(z_mean, z_log_var):
    """KL(N(mean, exp(log_var)) || N(0, I)) per sample, summed over latent dimensions."""
    return -0.5 * ops.sum(1.0 + z_log_var - z_mean**2 - ops.exp(z_log_var), axis=-1)


@keras.saving.register_keras_serializable(package="keraslstm")
class VAE(keras.Model):
    """Variational autoencoder; `fit(images)` or, with `num_classes`, `fit((images, labels))`.

    Tracks `reconstruction_loss` and `kl_loss` (per image, averaged over the batch); `loss` is
    reconstruction + beta * KL.
    """

    def __init__(
        self, encoder, decoder, latent_dim, beta=1.0, num_classes=None, seed=None, **kwargs
    ):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.latent_dim = int(latent_dim)
        self.beta = float(beta)
        self.num_classes = num_classes
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")

    def _split(self, inputs):
        if self.num_classes is None:
            return (inputs[0] if isinstance(inputs, (tuple, list)) else inputs), None
        images, labels = inputs
        if len(labels.shape) == 1:
            labels = ops.one_hot(ops.cast(labels, "int32"), self.num_classes)
        return images, labels

    def _with_label(self, x, labels):
        return x if labels is None else [x, labels]

    def encode(self, images, labels=None, training=False):
        return self.encoder(self._with_label(images, labels), training=training)

    def call(self, inputs, training=False):
        images, labels = self._split(inputs)
        z_mean, z_log_var = self.encode(images, labels, training)
        eps = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        z = z_mean + ops.exp(0.5 * z_log_var) * eps
        return self.decoder(self._with_label(z, labels), training=training), z_mean, z_log_var

    def losses_of(self, images, reconstruction, z_mean, z_log_var):
        """Per-image reconstruction cross-entropy (summed over pixels) and KL divergence."""
        axes = tuple(range(1, len(images.shape)))
        recon = ops.sum(
            keras.losses.binary_crossentropy(images[..., None], reconstruction[..., None]),
            axis=axes,
        )
        return recon, kl_divergence(z_mean, z_log_var)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        images, _ = self._split(x)
        reconstruction, z_mean, z_log_var = y_pred
        recon, kl = self.losses_of(images, reconstruction, z_mean, z_log_var)
        self.reconstruction_tracker.update_state(recon)
        self.kl_tracker.update_state(kl)
        return ops.mean(recon + self.beta * kl)

    def reconstruct(self, images, labels=None):
        """Decode the posterior mean of `images` (deterministic); integer `labels` for a CVAE."""
        onehot = None
        if self.num_classes is not None:
            if labels is None:
                raise ValueError("this model is conditional: pass integer labels, one per image")
            onehot = ops.one_hot(ops.convert_to_tensor(labels, "int32"), self.num_classes)
        z_mean, _ = self.encode(ops.convert_to_tensor(images), onehot)
        return ops.convert_to_numpy(self.decoder(self._with_label(z_mean, onehot), training=False))

    def generate(self, n=None, labels=None, z=None, seed=0):
        """Decode `n` draws from the prior (or the rows of `z`); integer `labels` for a CVAE."""
        z, onehot = latent_inputs(self.latent_dim, self.num_classes, n, labels, z, seed)
        return ops.convert_to_numpy(self.decoder(self._with_label(z, onehot), training=False))

    def get_config(self):
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "latent_dim": self.latent_dim,
            "beta": self.beta,
            "num_classes": self.num_classes,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("encoder", "decoder"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


@keras.saving.register_keras_serializable(package="keraslstm")
class VAEGAN(VAE):
    """A VAE whose decoder also faces `discriminator` (Larsen et al. 2016, simplified).

    The encoder and decoder minimise reconstruction + beta * KL + `adversarial_weight` times the
    non-saturating generator loss on reconstructions and prior samples; the discriminator learns
    to tell those from real images. Compile with `compile(optimizer=..., d_optimizer=...)`.
    """

    def __init__(
        self, encoder, decoder, discriminator, latent_dim, adversarial_weight=1.0, **kwargs
    ):
        super().__init__(encoder, decoder, latent_dim, **kwargs)
        self.discriminator = discriminator
        self.adversarial_weight = float(adversarial_weight)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    def compile(self, optimizer=None, d_optimizer=None, **kwargs):
        require_tensorflow(self)
        super().compile(optimizer=optimizer or keras.optimizers.Adam(1e-3), **kwargs)
        built(self.optimizer, self.encoder.trainable_weights + self.decoder.trainable_weights)
        self.d_optimizer = built(
            d_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5),
            self.discriminator.trainable_weights,
        )

    @property
    def metrics(self):
        return [
            self.reconstruction_tracker,
            self.kl_tracker,
            self.d_loss_tracker,
            self.g_loss_tracker,
        ]

    def train_step(self, data):
        import tensorflow as tf

        inputs, _, _ = keras.utils.unpack_x_y_sample_weight(data)  # fit((images, labels)) -> x
        images, labels = self._split(inputs)
        z = keras.random.normal((ops.shape(images)[0], self.latent_dim), seed=self.seed_generator)
        critic = lambda x: self.discriminator(self._with_label(x, labels), training=True)  # noqa: E731
        with tf.GradientTape() as tape:
            reconstruction, z_mean, z_log_var = self(inputs, training=True)
            sampled = self.decoder(self._with_label(z, labels), training=True)
            recon, kl = self.losses_of(images, reconstruction, z_mean, z_log_var)
            adversarial = generator_loss("non_saturating", critic(reconstruction))
            adversarial = 0.5 * (adversarial + generator_loss("non_saturating", critic(sampled)))
            loss = ops.mean(recon + self.beta * kl) + self.adversarial_weight * adversarial
        weights = self.encoder.trainable_weights + self.decoder.trainable_weights
        self.optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights, strict=True))
        fake = ops.concatenate([reconstruction, sampled])
        real = ops.concatenate([images, images])
        fake_labels = None if labels is None else ops.concatenate([labels, labels])
        with tf.GradientTape() as tape:
            d_loss = discriminator_loss(
                "non_saturating",
                self.discriminator(self._with_label(real, fake_labels), training=True),
                self.discriminator(
                    self._with_label(ops.stop_gradient(fake), fake_labels), training=True
                ),
            )
        weights = self.discriminator.trainable_weights
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, weights), weights, strict=True))
        for tracker, value in zip(self.metrics, (recon, kl, d_loss, adversarial), strict=True):
            tracker.update_state(value)
        return {m.name: m.result() for m in self.metrics}

    def get_config(self):
        return {
            **super().get_config(),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "adversarial_weight": self.adversarial_weight,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return super().from_config(config)
