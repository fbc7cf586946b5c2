"""Named starting configurations: the default, the seed post's MLP, DCGAN, the conditional GAN and the 2D toys."""

from __future__ import annotations

from gan_core.config.schema import DataConfig, LossConfig, ModelConfig, OptimizerConfig, RunConfig, TrainingConfig

PRESET_NAMES = ("default", "conditional", "seed-mlp", "dcgan", "toy-ring", "toy-grid", "toy-moons", "toy-spiral")
_TOY_PRESET_DATA = {"toy-ring": "ring8", "toy-grid": "grid25", "toy-moons": "two-moons", "toy-spiral": "spiral"}


def toy_preset(data_name: str, name: str = "toy") -> RunConfig:
    """The playground's starting point for a 2D set: GAN Lab's scale (2D latent, so G's mesh shows), batch 256."""
    return RunConfig(
        name=name,
        data=DataConfig(name=data_name),
        model=ModelConfig(architecture="mlp", latent_dim=2, hidden_dim=64, depth=2),
        optimizer=OptimizerConfig(lr_d=1e-3, lr_g=1e-3, beta1=0.5, beta2=0.999),
        # Toy quality costs milliseconds, so it runs often; grids are scatter plots of 256 fakes.
        training=TrainingConfig(batch_size=256, sample_every=500, checkpoint_every=1000, grid_size=256,
                                eval_every=100, eval_samples=2000),
    )


def preset(name: str) -> RunConfig:
    """A named starting configuration: default, conditional, seed-mlp, dcgan, or a 2D toy (toy-ring, toy-grid, ...)."""
    if name in _TOY_PRESET_DATA:
        return toy_preset(_TOY_PRESET_DATA[name], name)
    if name == "seed-mlp":
        # Exactly the seed post: MLP 64 -> 256 -> 256 -> 784, BCE with the non-saturating
        # generator loss, Adam lr 2e-4 with default betas, batch 100, MNIST.
        return RunConfig(name="seed-mlp")
    if name == "dcgan":
        # Radford et al.'s recipe scaled to 28x28: BatchNorm in both nets, Adam betas 0.5/0.999.
        return RunConfig(
            name="dcgan",
            model=ModelConfig(architecture="dcgan", latent_dim=64, base_channels=32,
                              discriminator_norm="batch"),
            optimizer=OptimizerConfig(lr_d=2e-4, lr_g=2e-4, beta1=0.5, beta2=0.999),
            training=TrainingConfig(batch_size=64),
        )
    if name == "conditional":
        # The class-conditional GAN (class embedding in G, projection D) with the optimiser the default had
        # before self-conditioning: DCGAN, spectral-norm D, EMA 0.995; the grid shows one row per class.
        return RunConfig(
            name="conditional",
            model=ModelConfig(architecture="dcgan", latent_dim=64, base_channels=32,
                              discriminator_norm="spectral", conditional=True),
            optimizer=OptimizerConfig(lr_d=8e-4, lr_g=8e-4, beta1=0.0, beta2=0.99),
            training=TrainingConfig(batch_size=32, ema_decay=0.995),
        )
    if name == "default":
        # Best samples in 120 s on a 2-core CPU, measured with `bench quality` (docs/benchmarks.md):
        # a small DCGAN is far cheaper per image than a wide MLP; spectral norm keeps D from winning
        # outright; batch 32 buys more updates in the budget; Adam without momentum (beta1 0, beta2
        # 0.99, as SN-GAN and StyleGAN use) at lr 8e-4 halved FID against beta1 0.5 at lr 4e-4 (16 vs
        # 33). Self-conditioning on 50 k-means clusters (no labels needed) took FID from ~17 to ~2.4
        # and evened the classes, but cut recall (0.85); MSGAN's term at 0.2 on same-cluster pairs won
        # recall back (0.89) at FID ~5. With the clusters the raw G scored as well as an EMA of it.
        return RunConfig(
            name="default",
            model=ModelConfig(architecture="dcgan", latent_dim=64, base_channels=32,
                              discriminator_norm="spectral", clusters=50),
            loss=LossConfig(mode_seeking=0.2),
            optimizer=OptimizerConfig(lr_d=8e-4, lr_g=8e-4, beta1=0.0, beta2=0.99),
            training=TrainingConfig(batch_size=32),
        )
    raise ValueError(f"preset={name!r} is invalid: allowed one of {', '.join(PRESET_NAMES)}")
