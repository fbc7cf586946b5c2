"""Tiny configs shared by the tests: an MLP GAN small enough for hundreds of steps a second."""

from __future__ import annotations

from gan_core.config.schema import DataConfig, ModelConfig, OptimizerConfig, RunConfig, TrainingConfig

# `python -m gan_core train` arguments for the same tiny MLP GAN as tiny_config (seed-mlp, 400 digits, CPU).
TINY_CLI_ARGS = ["--preset", "seed-mlp", "--set", "data.limit=400", "--set", "model.hidden_dim=16",
                 "--set", "model.latent_dim=8", "--set", "training.batch_size=16", "--set", "device=cpu",
                 "--set", "eval_every=0", "--quiet"]

# The metrics row's loss, score and gradient-norm columns: finite numbers after every step.
LOSS_COLUMNS = ("d_loss", "g_loss", "d_real", "d_fake", "d_fake_after", "grad_norm_d", "grad_norm_g")


def tiny_config(**training) -> RunConfig:
    """An MLP GAN small enough for hundreds of steps a second, on mnist5k's first 400 digits."""
    return RunConfig(
        name="tiny",
        data=DataConfig(name="mnist5k", limit=400),
        model=ModelConfig(architecture="mlp", latent_dim=8, hidden_dim=16, depth=1),
        optimizer=OptimizerConfig(),
        training=TrainingConfig(**{"batch_size": 16, "device": "cpu", "sample_every": 10,
                                   "checkpoint_every": 10, "grid_size": 16, "eval_every": 0, **training}),
    )

