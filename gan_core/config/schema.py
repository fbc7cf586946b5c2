"""The run configuration's schema: frozen dataclasses, one per concern, each field validated in __post_init__
(config/validation.py), with a JSON round trip and field changes by dotted name."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from gan_core.config.validation import check, is_int, is_number, short

IMAGE_DATASET_NAMES = ("mnist5k", "digits", "mnist", "fashion-mnist", "cifar10", "folder")
# 2D point sets for the playground (gan_core/data/toys.py); models for them map z -> (x, y).
TOY_DATASET_NAMES = ("ring8", "grid25", "two-moons", "spiral", "gaussian", "drawn")
DATASET_NAMES = IMAGE_DATASET_NAMES + TOY_DATASET_NAMES
MAX_DRAWN_POINTS = 2000  # points a user places on the playground's canvas, kept in config.json
DRAWN_BOUND = 10.0  # drawn points lie within [-DRAWN_BOUND, DRAWN_BOUND] on both axes
ARCHITECTURES = ("mlp", "dcgan")
LOSS_NAMES = ("non_saturating", "minimax", "least_squares", "hinge")
DISCRIMINATOR_NORMS = ("none", "batch", "spectral")
MAX_CLUSTERS = 256  # model.clusters: k-means stays quick and every cluster keeps enough images to learn from
DEVICES = ("auto", "cpu", "cuda")
AUGMENT_MODES = ("off", "fixed", "adaptive")
# training.seed fixes every random stream of a run: each stream is seeded with the seed plus its offset
# (the Trainer's generators; a checkpoint migration rebuilds a stream's start from it).
SEED_OFFSETS = {"weights": 0, "batch_order": 1, "fixed_noise": 2, "noise": 3, "augment": 5}


def _valid_points(points: Any) -> bool:
    """A tuple of (x, y) finite numbers within the drawn box, at most MAX_DRAWN_POINTS of them."""
    return (isinstance(points, tuple) and len(points) <= MAX_DRAWN_POINTS
            and all(isinstance(p, tuple) and len(p) == 2 and all(is_number(v) and abs(v) <= DRAWN_BOUND for v in p)
                    for p in points))


@dataclass(frozen=True)
class DataConfig:
    """Which images (or 2D points) to train on and at what size."""

    name: str = "mnist5k"
    """Data set: images (mnist5k, digits, mnist, fashion-mnist, cifar10, folder) or 2D points (ring8, grid25,
    two-moons, spiral, gaussian, drawn)."""
    root: str = "data"
    """Folder holding torchvision's files (mnist, fashion-mnist, cifar10)."""
    download: bool = False
    """Let torchvision download its files into root (needs internet)."""
    path: str = ""
    """Image folder for the folder data set (png/jpg, optionally in class subfolders)."""
    image_size: int = 0
    """Side of the square images in pixels; 0 keeps the set's own size (folder: 64)."""
    channels: int = 0
    """1 (grayscale) or 3 (RGB); 0 keeps the set's own channels (folder: 3)."""
    limit: int = 0
    """Use only the first `limit` images; 0 uses all. Point sets: how many points to draw (0: 8,192)."""
    points: tuple[tuple[float, float], ...] = ()
    """drawn: the user's points [[x, y], ...] within [-10, 10]^2; each becomes a small Gaussian blob."""

    @property
    def is_points(self) -> bool:
        """True for the 2D toy sets (point models, the playground view), False for images."""
        return self.name in TOY_DATASET_NAMES

    def __post_init__(self) -> None:
        # JSON gives lists; a frozen config keeps tuples (hashable, immutable).
        points = self.points
        if isinstance(points, (list, tuple)) and all(isinstance(p, (list, tuple)) for p in points):
            object.__setattr__(self, "points", tuple(tuple(p) for p in points))
        check(_valid_points(self.points), "data.points", short(self.points),
              f"a list of at most {MAX_DRAWN_POINTS} [x, y] pairs of finite numbers within "
              f"[-{DRAWN_BOUND:g}, {DRAWN_BOUND:g}]")
        check(self.name == "drawn" or not self.points, "data.points", short(self.points),
              "empty unless data.name is drawn")
        check(self.name != "drawn" or len(self.points) >= 2, "data.points", short(self.points),
              "at least 2 points when data.name is drawn (draw them on the playground's canvas)")
        check(self.name in DATASET_NAMES, "data.name", self.name, f"one of {', '.join(DATASET_NAMES)}")
        check(isinstance(self.root, str), "data.root", self.root, "a folder path")
        check(isinstance(self.download, bool), "data.download", self.download, "true or false")
        check(isinstance(self.path, str), "data.path", self.path, "a folder path")
        check(self.name != "folder" or bool(self.path), "data.path", self.path,
              "a non-empty folder path when data.name is folder")
        check(is_int(self.image_size) and (self.image_size == 0 or 4 <= self.image_size <= 256),
              "data.image_size", self.image_size, "0 (native) or an integer from 4 to 256")
        check(self.channels in (0, 1, 3) and is_int(self.channels), "data.channels", self.channels,
              "0 (native), 1 or 3")
        check(is_int(self.limit) and self.limit >= 0, "data.limit", self.limit, "an integer >= 0")
        check(not self.is_points or not is_int(self.limit) or self.limit <= 1_000_000, "data.limit", self.limit,
              "0 (8,192 points) or up to 1,000,000 points for a 2D point set")


@dataclass(frozen=True)
class ModelConfig:
    """Generator and discriminator architecture."""

    architecture: str = "mlp"
    """mlp (the seed post's fully connected pair) or dcgan (convolutional)."""
    latent_dim: int = 64
    """Size of the noise vector z fed to the generator."""
    hidden_dim: int = 256
    """MLP: width of each hidden layer."""
    depth: int = 2
    """MLP: number of hidden layers in G and in D."""
    base_channels: int = 32
    """DCGAN: channels of the layer next to the image; doubled at each lower resolution."""
    discriminator_norm: str = "none"
    """Normalisation in D: none, batch (DCGAN's BatchNorm) or spectral (spectral norm)."""
    conditional: bool = False
    """Class-conditional GAN for a labelled data set: a class embedding into G, a projection D."""
    clusters: int = 0
    """Self-conditioning: G and D conditioned on up to this many k-means clusters of the images (one per 20
    images at most), no labels needed; G reads its cluster off z, so it still samples from z alone. 0 = off."""

    def __post_init__(self) -> None:
        check(self.architecture in ARCHITECTURES, "model.architecture", self.architecture,
              f"one of {', '.join(ARCHITECTURES)}")
        check(is_int(self.latent_dim) and 1 <= self.latent_dim <= 1024, "model.latent_dim",
              self.latent_dim, "an integer from 1 to 1024")
        check(is_int(self.hidden_dim) and 1 <= self.hidden_dim <= 8192, "model.hidden_dim",
              self.hidden_dim, "an integer from 1 to 8192")
        check(is_int(self.depth) and 1 <= self.depth <= 16, "model.depth", self.depth,
              "an integer from 1 to 16")
        check(is_int(self.base_channels) and 4 <= self.base_channels <= 512, "model.base_channels",
              self.base_channels, "an integer from 4 to 512")
        check(self.discriminator_norm in DISCRIMINATOR_NORMS, "model.discriminator_norm",
              self.discriminator_norm, f"one of {', '.join(DISCRIMINATOR_NORMS)}")
        check(isinstance(self.conditional, bool), "model.conditional", self.conditional, "true or false")
        check(is_int(self.clusters) and (self.clusters == 0 or 2 <= self.clusters <= MAX_CLUSTERS),
              "model.clusters", self.clusters, f"0 (off) or an integer from 2 to {MAX_CLUSTERS}")
        check(not (self.conditional is True and self.clusters), "model.clusters", self.clusters,
              "0 when model.conditional is true (a conditional model already has its classes)")


@dataclass(frozen=True)
class LossConfig:
    """The generator/discriminator loss pair."""

    loss: str = "non_saturating"
    """Loss pair: non_saturating (-log D(G(z))), minimax (log(1 - D(G(z)))), least_squares, hinge."""
    label_smoothing: float = 0.0
    """One-sided label smoothing: real targets become 1 - label_smoothing."""
    r1_gamma: float = 0.0
    """R1 gradient penalty on real images, gamma / 2 * E||grad_x D(x)||^2; 0 turns it off."""
    r1_interval: int = 16
    """Apply R1 every N steps with its weight times N (lazy regularisation, as StyleGAN2)."""
    mode_seeking: float = 0.0
    """Weight of MSGAN's diversity term in G's loss (pairs of fakes sharing a condition, told apart); 0 = off."""

    def __post_init__(self) -> None:
        check(self.loss in LOSS_NAMES, "loss.loss", self.loss, f"one of {', '.join(LOSS_NAMES)}")
        check(is_number(self.label_smoothing) and 0.0 <= self.label_smoothing <= 0.5,
              "loss.label_smoothing", self.label_smoothing, "a number from 0 to 0.5")
        check(is_number(self.r1_gamma) and 0.0 <= self.r1_gamma <= 1000.0, "loss.r1_gamma", self.r1_gamma,
              "a number from 0 to 1000")
        check(is_int(self.r1_interval) and 1 <= self.r1_interval <= 1000, "loss.r1_interval",
              self.r1_interval, "a whole number from 1 to 1000")
        check(is_number(self.mode_seeking) and 0.0 <= self.mode_seeking <= 10.0, "loss.mode_seeking",
              self.mode_seeking, "a number from 0 to 10; 0 turns it off")


@dataclass(frozen=True)
class OptimizerConfig:
    """Adam settings for both networks and the D/G step ratio."""

    lr_d: float = 2e-4
    """Discriminator learning rate."""
    lr_g: float = 2e-4
    """Generator learning rate."""
    beta1: float = 0.9
    """Adam beta1 for both optimizers."""
    beta2: float = 0.999
    """Adam beta2 for both optimizers."""
    d_steps_per_g_step: int = 1
    """Discriminator updates before each generator update."""

    def __post_init__(self) -> None:
        for name in ("lr_d", "lr_g"):
            value = getattr(self, name)
            check(is_number(value) and 0.0 < value <= 1.0, f"optimizer.{name}", value,
                  "a number in (0, 1]")
        for name in ("beta1", "beta2"):
            value = getattr(self, name)
            check(is_number(value) and 0.0 <= value < 1.0, f"optimizer.{name}", value,
                  "a number in [0, 1)")
        check(is_int(self.d_steps_per_g_step) and 1 <= self.d_steps_per_g_step <= 10,
              "optimizer.d_steps_per_g_step", self.d_steps_per_g_step, "an integer from 1 to 10")


@dataclass(frozen=True)
class TrainingConfig:
    """Batching, seeding, device and how often to log, sample and checkpoint."""

    batch_size: int = 100
    """Images per batch (per process under torchrun)."""
    seed: int = 0
    """Seed for weights, noise and batch order; same seed, same run on the CPU."""
    device: str = "auto"
    """auto (CUDA when available), cpu or cuda."""
    ema_decay: float = 0.0
    """Decay of an exponential moving average of G's weights used for samples; 0 turns it off."""
    sample_every: int = 200
    """Steps between fixed-noise sample grids written to samples/."""
    checkpoint_every: int = 500
    """Steps between checkpoints (one is also written at the end)."""
    grid_size: int = 64
    """Number of fixed-noise samples in each grid (a square number is best)."""
    autocast_bf16: bool = False
    """Run forward passes in bfloat16 autocast (losses and optimizer stay float32)."""
    compile: bool = False
    """torch.compile G and D (slow first steps; measure before relying on it)."""
    eval_every: int = 500
    """Steps between live quality evaluations (FID, coverage, precision/recall); 0 turns them off."""
    eval_samples: int = 1000
    """Generated images scored at each live evaluation (fixed seeds 0..n-1)."""
    augment: str = "off"
    """Differentiable augmentation of real and fake images before D: off, fixed (probability augment_p) or
    adaptive (p tuned so r_t = E[sign D(x_real)] stays near augment_target, as ADA)."""
    augment_p: float = 0.25
    """fixed: the chance each op (translation, cutout, colour) hits each image; adaptive: the starting p."""
    augment_target: float = 0.6
    """adaptive: the r_t that p is tuned to keep (higher r_t means D is surer of the reals: overfitting)."""
    tensorboard: bool = True
    """Write TensorBoard event files into the run directory (scalars, sample grids, config, live changes)."""

    def __post_init__(self) -> None:
        check(is_int(self.batch_size) and 1 <= self.batch_size <= 65536, "training.batch_size",
              self.batch_size, "an integer from 1 to 65536")
        check(is_int(self.seed) and 0 <= self.seed < 2**63, "training.seed", self.seed,
              "an integer from 0 to 2**63 - 1")
        check(self.device in DEVICES, "training.device", self.device, f"one of {', '.join(DEVICES)}")
        check(is_number(self.ema_decay) and 0.0 <= self.ema_decay < 1.0, "training.ema_decay",
              self.ema_decay, "a number in [0, 1); 0 turns EMA off")
        for name in ("sample_every", "checkpoint_every"):
            value = getattr(self, name)
            check(is_int(value) and value >= 1, f"training.{name}", value, "an integer >= 1")
        check(is_int(self.grid_size) and 1 <= self.grid_size <= 256, "training.grid_size",
              self.grid_size, "an integer from 1 to 256")
        check(is_int(self.eval_every) and self.eval_every >= 0, "training.eval_every", self.eval_every,
              "an integer >= 0 (0 turns live evaluation off)")
        check(is_int(self.eval_samples) and 10 <= self.eval_samples <= 10000, "training.eval_samples",
              self.eval_samples, "an integer from 10 to 10000")
        for name in ("autocast_bf16", "compile", "tensorboard"):
            check(isinstance(getattr(self, name), bool), f"training.{name}", getattr(self, name), "true or false")
        check(self.augment in AUGMENT_MODES, "training.augment", self.augment, f"one of {', '.join(AUGMENT_MODES)}")
        check(is_number(self.augment_p) and 0.0 <= self.augment_p <= 1.0, "training.augment_p", self.augment_p,
              "a number from 0 to 1")
        check(is_number(self.augment_target) and 0.0 < self.augment_target < 1.0, "training.augment_target",
              self.augment_target, "a number between 0 and 1")


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run; saved as config.json in its run directory."""

    name: str = "run"
    """Short name used in the run directory's name."""
    data: DataConfig = field(default_factory=DataConfig)
    """Data set settings."""
    model: ModelConfig = field(default_factory=ModelConfig)
    """Architecture settings."""
    loss: LossConfig = field(default_factory=LossConfig)
    """Loss settings."""
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    """Optimizer settings."""
    training: TrainingConfig = field(default_factory=TrainingConfig)
    """Training loop settings."""

    def __post_init__(self) -> None:
        check(isinstance(self.name, str) and 0 < len(self.name) <= 64
              and all(c.isalnum() or c in "-_." for c in self.name),
              "name", self.name, "1 to 64 letters, digits, '-', '_' or '.'")
        for name, kind in SECTIONS.items():
            check(isinstance(getattr(self, name), kind), name, getattr(self, name), f"a {kind.__name__}")
        if isinstance(self.data, DataConfig) and isinstance(self.model, ModelConfig) and self.data.is_points:
            # Point data trains the point MLPs (gan_core/nets/point_models.py): linear output, no norms.
            check(self.model.architecture == "mlp", "model.architecture", self.model.architecture,
                  f"mlp when data.name is a 2D point set ({self.data.name})")
            check(self.model.discriminator_norm == "none", "model.discriminator_norm",
                  self.model.discriminator_norm, f"none when data.name is a 2D point set ({self.data.name})")
            check(self.model.latent_dim <= 64, "model.latent_dim", self.model.latent_dim,
                  f"an integer from 1 to 64 when data.name is a 2D point set ({self.data.name})")
            check(self.model.conditional is not True, "model.conditional", self.model.conditional,
                  f"false when data.name is a 2D point set ({self.data.name}): points have no classes")
            check(self.model.clusters == 0, "model.clusters", self.model.clusters,
                  f"0 when data.name is a 2D point set ({self.data.name}): clusters are of images")
        if isinstance(self.model, ModelConfig) and isinstance(self.training, TrainingConfig) \
                and (self.model.architecture == "dcgan" or self.model.discriminator_norm == "batch"):
            # BatchNorm in training needs 2 values per channel: DCGAN's G always has it, D with norm batch.
            check(not is_int(self.training.batch_size) or self.training.batch_size >= 2, "training.batch_size",
                  self.training.batch_size, "an integer from 2 to 65536 when a network has BatchNorm "
                  "(model.architecture dcgan, or model.discriminator_norm batch)")
        if isinstance(self.data, DataConfig) and isinstance(self.training, TrainingConfig) and self.data.is_points:
            check(self.training.augment == "off", "training.augment", self.training.augment,
                  f"off when data.name is a 2D point set ({self.data.name}): the ops are for images")

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-ready dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "RunConfig":
        """Build from a dict as written by to_dict; unknown keys are an error that names them."""
        if not isinstance(values, dict):
            raise ValueError(f"config must be a JSON object, got {type(values).__name__}")
        _reject_unknown(values, {f.name for f in dataclasses.fields(cls)}, "")
        sections = {}
        for name, kind in SECTIONS.items():
            section = values.get(name, {})
            if not isinstance(section, dict):
                raise ValueError(f"{name} must be an object, got {section!r}")
            _reject_unknown(section, {f.name for f in dataclasses.fields(kind)}, f"{name}.")
            sections[name] = kind(**section)
        return cls(name=values.get("name", "run"), **sections)

    def to_json(self) -> str:
        """JSON text of to_dict()."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def with_changes(self, changes: dict[str, Any]) -> "RunConfig":
        """A copy with fields changed by dotted name ('optimizer.lr_g') or by a unique bare name ('lr_g')."""
        return RunConfig.from_dict(changed_dict(self.to_dict(), changes))


SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "model": ModelConfig,
    "loss": LossConfig,
    "optimizer": OptimizerConfig,
    "training": TrainingConfig,
}


def _reject_unknown(values: dict[str, Any], known: set[str], prefix: str) -> None:
    unknown = sorted(set(values) - known)
    if unknown:
        names = ", ".join(prefix + name for name in unknown)
        raise ValueError(f"unknown config key(s): {names}; allowed: {', '.join(sorted(known))}")


def resolve_field(key: str) -> tuple[str, str]:
    """Map 'section.field' or a bare field name to (section, field); ('', 'name') for the run name."""
    if key == "name":
        return "", "name"
    if "." in key:
        section, _, name = key.partition(".")
        kind = SECTIONS.get(section)
        if kind is None or name not in {f.name for f in dataclasses.fields(kind)}:
            raise ValueError(f"unknown config field {key!r}")
        return section, name
    matches = [s for s, kind in SECTIONS.items() if key in {f.name for f in dataclasses.fields(kind)}]
    if len(matches) != 1:
        raise ValueError(f"unknown config field {key!r}" if not matches
                         else f"ambiguous config field {key!r}: use one of "
                              + ", ".join(f"{s}.{key}" for s in matches))
    return matches[0], key


def changed_dict(values: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A config dict (as to_dict writes it) with fields set by dotted or unique bare name; not validated."""
    for key, value in changes.items():
        section, name = resolve_field(key)
        if section:
            values[section][name] = value
        else:
            values[name] = value
    return values
