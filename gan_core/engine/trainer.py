"""Trainer: one object owning G, D, both optimizers, the RNG, the batch order and the step counter."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from gan_core.config.fields import live_values, with_live_changes
from gan_core.config.schema import SEED_OFFSETS, RunConfig
from gan_core.data.datasets import BatchIndexSampler, ImageDataset, load_dataset
from gan_core.engine.conditioning import ClassConditioned, SelfConditioned, Unconditioned
from gan_core.engine.distributed import SINGLE_PROCESS, DistributedInfo
from gan_core.nets.augment import AUGMENT_OPS, AdaptiveProbability, diff_augment
from gan_core.nets.clusters import cluster_shares, effective_clusters, kmeans_labels
from gan_core.nets.losses import discriminator_loss, generator_loss
from gan_core.nets.models import build_models, has_batch_norm
from gan_core.nets.penalties import mode_seeking_penalty, pair_conditions, r1_due, r1_penalty, r1_weight

# Which networks one step updates: both (a normal iteration), or one of them, as GAN Lab's finer
# stepping: the other network's losses and gradients are still computed and logged, only not applied.
STEP_UPDATES = ("both", "discriminator", "generator")


def resolve_device(name: str) -> torch.device:
    """auto -> cuda when available else cpu; cuda without a GPU is a ValueError naming the field."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("training.device='cuda' is invalid here: no CUDA GPU is available; "
                         "allowed auto or cpu")
    return torch.device(name)


class Trainer:
    """Trains one GAN: step() runs one D/G iteration and returns a metrics row."""

    def __init__(self, config: RunConfig, dataset: ImageDataset | None = None,
                 distributed: DistributedInfo = SINGLE_PROCESS) -> None:
        if distributed.enabled and config.loss.r1_gamma > 0:
            # R1 needs a second backward through D's input gradient, which DDP's reducer does not take.
            raise ValueError(f"loss.r1_gamma={config.loss.r1_gamma!r} is invalid under torchrun: allowed 0 "
                             "(R1 is single-process for now)")
        if distributed.enabled and config.model.conditional:
            raise ValueError("model.conditional=True is invalid under torchrun: allowed false "
                             "(conditional training is single-process for now)")
        self.config = config
        self.distributed = distributed
        self.device = resolve_device(config.training.device)
        if self.device.type == "cuda" and distributed.enabled:
            self.device = torch.device("cuda", distributed.local_rank)
        dataset = dataset if dataset is not None else load_dataset(config.data)
        self.dataset = dataset
        self.image_shape: tuple[int, int, int] = dataset.image_shape
        # The whole set lives on the training device: a batch is one index_select, no DataLoader.
        self.images = dataset.images.to(self.device)  # (N, C, H, W) in [-1, 1]
        labels = self._class_labels(dataset)  # (N,) int64 for a class-conditional run, else None
        self.num_classes = int(labels.max()) + 1 if labels is not None else 0  # > 0: G takes (z, labels)
        # Self-conditioning: each real image's k-means cluster (N,) stands in for its label; same on every rank.
        # A small set gets fewer clusters (20 images each); the models keep model.clusters slots, unused ones
        # at share 0, so a checkpoint's shapes follow the config alone.
        self.cluster_labels: torch.Tensor | None = None
        if config.model.clusters:
            clusters = effective_clusters(config.model.clusters, len(dataset))
            self.cluster_labels = kmeans_labels(dataset.images, clusters, config.training.seed).to(self.device)
        self._build_initial_state()
        self.conditioning: Unconditioned = (
            ClassConditioned(labels, self.noise_rng) if labels is not None
            else SelfConditioned(self.cluster_labels, self.generator) if self.cluster_labels is not None
            else Unconditioned())
        # Real and fake batches go through D in one pass unless BatchNorm would mix their statistics.
        self._joint_d_pass = not has_batch_norm(self.discriminator)
        # The modules that train: DDP wrappers under torchrun (G and D separately; D's BatchNorm
        # buffers stay per rank), optionally compiled. self.generator/.discriminator stay unwrapped.
        self._g_train, self._d_train = self.generator, self.discriminator
        if distributed.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            device_ids = [self.device.index] if self.device.type == "cuda" else None
            self._g_train = DDP(self.generator, device_ids=device_ids)
            # D's BatchNorm statistics stay per rank (each rank sees its own real/fake batches):
            # no buffer broadcast in forward (torch 2.14 names broadcast_buffers=False so).
            self._d_train = DDP(self.discriminator, device_ids=device_ids, forward_sync_buffers=False)
        if config.training.compile:
            self._g_train, self._d_train = torch.compile(self._g_train), torch.compile(self._d_train)

    def _class_labels(self, dataset: ImageDataset) -> torch.Tensor | None:
        """The data's labels on the training device for model.conditional, else None; ValueError without labels."""
        if not self.config.model.conditional:
            return None
        if dataset.labels is None:
            raise ValueError(f"model.conditional=True is invalid for data set {self.config.data.name}: it has no "
                             "labels; allowed false, or a labelled set (mnist5k, digits, mnist, fashion-mnist, "
                             "cifar10, a folder with class subfolders)")
        return dataset.labels.to(self.device).long()

    def _build_initial_state(self) -> None:
        """G, D, EMA, optimizers, RNGs, batch order and fixed noise as at step 0: all fixed by the seed."""
        config, seed, distributed = self.config, self.config.training.seed, self.distributed
        # Weight init uses the global RNG; fork it so building a Trainer leaves the caller's alone.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + SEED_OFFSETS["weights"])
            generator, discriminator = build_models(config.model, self.image_shape, self.num_classes)
        self.generator = generator.to(self.device)
        self.discriminator = discriminator.to(self.device)
        if self.cluster_labels is not None:  # G draws clusters from z in the data's shares (before the EMA copy)
            self.generator.set_cluster_shares(cluster_shares(self.cluster_labels, config.model.clusters))
        self.ema_generator: nn.Module | None = None
        if config.training.ema_decay > 0:
            self.ema_generator = copy.deepcopy(self.generator).eval().requires_grad_(False)
        betas = (config.optimizer.beta1, config.optimizer.beta2)
        # fused=True: one kernel per optimizer step instead of one per tensor (measured ~10% faster).
        self.optimizer_d = torch.optim.Adam(self.discriminator.parameters(), lr=config.optimizer.lr_d,
                                            betas=betas, fused=True)
        self.optimizer_g = torch.optim.Adam(self.generator.parameters(), lr=config.optimizer.lr_g,
                                            betas=betas, fused=True)
        # The batch order comes from a generator every rank seeds alike (each takes its own slice);
        # the noise from one seeded per rank, so ranks see different fakes. A seed fixes the run.
        self.rng = torch.Generator(device=self.device).manual_seed(seed + SEED_OFFSETS["batch_order"])
        self.noise_rng = torch.Generator(device=self.device).manual_seed(noise_seed(seed, distributed.rank))
        self.sampler = BatchIndexSampler(len(self.dataset), config.training.batch_size, self.rng,
                                         distributed.rank, distributed.world_size)
        # Augmentation draws from its own generator, so turning it on leaves the batches and noise unchanged.
        self.augment_rng = torch.Generator(device=self.device).manual_seed(seed + SEED_OFFSETS["augment"])
        training = config.training
        self.adaptive_augment = (AdaptiveProbability(training.augment_target, probability=training.augment_p)
                                 if training.augment == "adaptive" else None)
        fixed = torch.Generator().manual_seed(seed + SEED_OFFSETS["fixed_noise"])
        self.fixed_noise = torch.randn(config.training.grid_size, config.model.latent_dim,
                                       generator=fixed).to(self.device)  # (grid, latent_dim)
        self.step_count = 0
        self.time_s = 0.0

    def initial_state_dict(self) -> dict[str, Any]:
        """The state this run had at step 0 (same seed, config and data), without loading the data again."""
        fresh = copy.copy(self)  # shares config, data and device; gets models, optimizers and RNGs of its own
        fresh._build_initial_state()
        return fresh.state_dict()

    def release_distributed(self) -> None:
        """Drop the DDP wrappers before the process group is destroyed (this trainer no longer trains).

        A DDP module sits in a reference cycle (its reducer's autograd hooks), so without this it is
        freed by some later garbage collection, possibly during interpreter shutdown after
        destroy_process_group, where its reducer's gloo work can abort the process.
        """
        self._g_train, self._d_train = self.generator, self.discriminator

    @property
    def augment_probability(self) -> float:
        """The chance each augmentation op hits each image this step (0 when augmentation is off)."""
        training = self.config.training
        if training.augment == "adaptive" and self.adaptive_augment is not None:
            return self.adaptive_augment.probability
        return training.augment_p if training.augment == "fixed" else 0.0

    def _augment(self, images: torch.Tensor, probability: float) -> torch.Tensor:
        """images (B, C, H, W) through the differentiable ops before D; unchanged at p = 0."""
        return diff_augment(images, AUGMENT_OPS, probability, self.augment_rng) if probability > 0 else images

    @property
    def max_threads(self) -> int | None:
        """The most intra-op threads worth using: 1 for 2D point models, whose tiny matmuls run no faster on
        two threads (231 vs 221 steps/s measured, docs/benchmarks.md); None (no cap) for images."""
        return 1 if self.dataset.is_points else None

    @property
    def epoch(self) -> int:
        """Completed passes over the data set."""
        return self.sampler.epoch

    def step(self, update: str = "both") -> dict[str, float]:
        """One training iteration: k D updates on detached fakes, then one G update; returns a metrics row.

        update="discriminator" or "generator" applies only that network's optimizer step (see STEP_UPDATES).
        """
        if update not in STEP_UPDATES:
            raise ValueError(f"update={update!r} is invalid: allowed {', '.join(STEP_UPDATES)}")
        started = time.perf_counter()
        augment_p = self.augment_probability  # one p for the whole iteration, reals and fakes alike
        scored = self._discriminator_phase(update, augment_p)  # (1) update D
        fake_logits_after, g_loss, grad_norm_g = self._generator_phase(update, augment_p, scored)  # (2) update G
        return self._row(scored, fake_logits_after, g_loss, grad_norm_g, augment_p, time.perf_counter() - started)

    def _discriminator_phase(self, update: str, augment_p: float) -> "_Scored":
        """(1) update D, d_steps_per_g_step times: maximise its score on real images, minimise it on G's
        (detached) fakes. Only the last D step's fakes keep G's graph: the G phase reuses them."""
        self.discriminator.requires_grad_(True)
        d_steps = self.config.optimizer.d_steps_per_g_step
        for index in range(d_steps):
            scored = self._discriminator_update(index, index == d_steps - 1, augment_p)
            if update != "generator":
                self.optimizer_d.step()
        if self.adaptive_augment is not None and update != "generator":
            self.adaptive_augment.update(scored.real_logits)  # ADA: p follows D's overfitting signal r_t
        return scored

    def _discriminator_update(self, index: int, last: bool, augment_p: float) -> "_Scored":
        """One D step's batch, fakes, scores, loss (+ lazy R1 on the first) and gradients; not yet applied."""
        cfg, batch_size = self.config, self.config.training.batch_size
        indices = self.sampler.next_indices()
        real = self.images.index_select(0, indices)  # (B, C, H, W)
        z = self.sample_noise(batch_size)  # (B, latent_dim)
        # The reals' labels (B,) and the fakes' (B,), drawn after z (conditioning.py): () when unconditional.
        real_y, fake_y = self.conditioning.real_labels(indices), self.conditioning.fake_labels(z)
        if cfg.loss.mode_seeking > 0 and fake_y:  # MSGAN's pairs: the second half takes the first's condition
            z, fake_y = pair_conditions(z, fake_y)
        with self._autocast():
            if last:
                fake = self._g_train(z, *fake_y)  # (B, C, H, W), graph kept for the G phase
            else:
                with torch.no_grad():  # only the last D step's fakes are reused by G
                    fake = self.generator(z, *fake_y)
            real_seen, fake_seen = self._augment(real, augment_p), self._augment(fake.detach(), augment_p)
            if self._joint_d_pass:  # one pass for both halves: no BatchNorm to mix their statistics
                joint_y = [torch.cat(real_y + fake_y)] if fake_y else []
                logits = self._d_train(torch.cat([real_seen, fake_seen]), *joint_y).float()  # (2B,)
                real_logits, fake_logits = logits[:batch_size], logits[batch_size:]
            else:
                real_logits = self._d_train(real_seen, *real_y).float()  # (B,)
                fake_logits = self._d_train(fake_seen, *fake_y).float()  # (B,)
        d_loss = discriminator_loss(cfg.loss.loss, real_logits, fake_logits, cfg.loss.label_smoothing)
        penalised = d_loss
        if index == 0 and r1_due(self.step_count, cfg.loss.r1_gamma, cfg.loss.r1_interval):
            # Lazy R1 on this batch's reals, in float32 outside autocast: gamma/2 * k * E||dD/dx||^2.
            penalised = d_loss + r1_weight(cfg.loss.r1_gamma, cfg.loss.r1_interval) * r1_penalty(
                lambda images: self.discriminator(images, *real_y), real.float())
        self.optimizer_d.zero_grad(set_to_none=True)
        penalised.backward()
        return _Scored(fake, z, fake_y, real_logits, fake_logits, d_loss, _grad_norm(self.discriminator))

    def _generator_phase(self, update: str, augment_p: float,
                         scored: "_Scored") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(2) update G: the last fakes again, scored by the D just updated. D's weights need no gradient here,
        which skips their weight-gradient matmuls; the unwrapped D is used, so DDP syncs only G's gradients.
        Returns (D's logits on the fakes (B,), G's GAN loss, G's gradient norm)."""
        cfg = self.config
        self.discriminator.requires_grad_(False)
        with self._autocast():
            # Augmented as D saw its fakes, so G's gradient flows back through the (differentiable) ops.
            fake_logits_after = self.discriminator(self._augment(scored.fake, augment_p),
                                                   *scored.fake_labels).float()  # (B,)
        g_loss = generator_loss(cfg.loss.loss, fake_logits_after)
        g_objective = g_loss  # what G descends; g_loss, the charted value, stays the GAN loss alone
        if cfg.loss.mode_seeking > 0:
            g_objective = g_loss + cfg.loss.mode_seeking * mode_seeking_penalty(scored.fake.float(), scored.z)
        self.optimizer_g.zero_grad(set_to_none=True)
        g_objective.backward()
        grad_norm_g = _grad_norm(self.generator)
        if update != "discriminator":
            self.optimizer_g.step()
            if self.ema_generator is not None:
                self._update_ema()
        return fake_logits_after, g_loss, grad_norm_g

    def _row(self, scored: "_Scored", fake_logits_after: torch.Tensor, g_loss: torch.Tensor,
             grad_norm_g: torch.Tensor, augment_p: float, elapsed: float) -> dict[str, float]:
        """The step's metrics row (columns.METRIC_NAMES); one host sync for every scalar."""
        real_logits, fake_logits = scored.real_logits.detach(), scored.fake_logits.detach()
        values = torch.stack([
            scored.d_loss.detach(), g_loss.detach(), torch.sigmoid(real_logits).mean(),
            torch.sigmoid(fake_logits).mean(), torch.sigmoid(fake_logits_after.detach()).mean(),
            scored.grad_norm_d, grad_norm_g, torch.sign(real_logits).mean(), torch.sigmoid(fake_logits).std(),
        ]).tolist()
        self.step_count += 1
        self.time_s += elapsed
        images = self.config.training.batch_size * self.config.optimizer.d_steps_per_g_step \
            * self.distributed.world_size
        return {
            "step": self.step_count, "epoch": self.epoch, "time_s": round(self.time_s, 6),
            "d_loss": values[0], "g_loss": values[1], "d_real": values[2], "d_fake": values[3],
            "d_fake_after": values[4], "grad_norm_d": values[5], "grad_norm_g": values[6],
            "lr_d": self.optimizer_d.param_groups[0]["lr"], "lr_g": self.optimizer_g.param_groups[0]["lr"],
            "images_per_s": images / elapsed if elapsed > 0 else 0.0,
            "wall_time": round(time.time(), 3),  # Unix seconds: the charts' wall-time axis
            "overfit_r": values[7], "augment_p": augment_p, "d_fake_std": values[8],
        }

    def _autocast(self) -> torch.autocast:
        """bfloat16 autocast of the forward passes when training.autocast_bf16 (losses stay float32)."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.config.training.autocast_bf16)

    def sample_noise(self, count: int) -> torch.Tensor:
        """Training noise from this rank's generator: (count, latent_dim)."""
        return torch.randn(count, self.config.model.latent_dim, generator=self.noise_rng, device=self.device)

    @property
    def grid_columns(self) -> int | None:
        """Samples per class row in a conditional run's fixed grid: training.grid_size shared among the K rows
        (at least 1, at most K); None when unconditional (the grid is laid out square)."""
        if not self.num_classes:
            return None
        return max(1, min(self.num_classes, self.config.training.grid_size // self.num_classes))

    @property
    def fixed_labels(self) -> torch.Tensor | None:
        """The fixed grid's classes, (K * grid_columns,) int64, K rows of one class each; None when unconditional."""
        if not self.num_classes:
            return None
        return torch.arange(self.num_classes, device=self.device).repeat_interleave(self.grid_columns)

    def fixed_inputs(self) -> tuple[torch.Tensor, ...]:
        """The fixed grid's generator inputs: (fixed_noise,), or (z (K * columns, latent_dim), labels) for a
        conditional run, where column j of every class row shares one z (fixed_noise[j], cycled)."""
        if not self.num_classes:
            return (self.fixed_noise,)
        columns = torch.arange(self.grid_columns, device=self.device) % self.fixed_noise.shape[0]
        return self.fixed_noise[columns].repeat(self.num_classes, 1), self.fixed_labels

    def _update_ema(self) -> None:
        """ema <- decay * ema + (1 - decay) * G, parameters in place; buffers (BN stats) copied."""
        decay = self.config.training.ema_decay
        ema_params = list(self.ema_generator.parameters())
        torch._foreach_lerp_(ema_params, [p.detach() for p in self.generator.parameters()], 1.0 - decay)
        for ema_buffer, buffer in zip(self.ema_generator.buffers(), self.generator.buffers()):
            ema_buffer.copy_(buffer)

    def sampling_generator(self) -> nn.Module:
        """The generator used for samples: the EMA copy when EMA is on, else G itself."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def sample_fixed(self) -> torch.Tensor:
        """Images for the fixed noise batch, (grid_size, C, H, W) in [-1, 1], on the CPU; a conditional run's
        grid is (K * grid_columns, C, H, W), one class per row (see fixed_inputs)."""
        model = self.sampling_generator()
        was_training = model.training
        model.eval()
        with torch.inference_mode():
            images = model(*self.fixed_inputs()).float().cpu()
        model.train(was_training)
        return images

    def update_hyperparameters(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply live changes (dotted paths in config.LIVE_FIELDS); returns the old values. Others: ValueError."""
        old = {path: value for path, value in live_values(self.config).items() if path in changes}
        config = self.config = with_live_changes(self.config, changes)
        betas = (config.optimizer.beta1, config.optimizer.beta2)
        for group in self.optimizer_d.param_groups:
            group["lr"], group["betas"] = config.optimizer.lr_d, betas
        for group in self.optimizer_g.param_groups:
            group["lr"], group["betas"] = config.optimizer.lr_g, betas
        return old

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue bit for bit (weights, optimizers, RNG, batch order, step), as plain
        tensors and types; checkpoint.save_checkpoint stamps its format."""
        state = {
            "config": self.config.to_dict(),
            "image_shape": list(self.image_shape),
            "step": self.step_count,
            "epoch": self.epoch,
            "time_s": self.time_s,
            "generator": _cpu(self.generator.state_dict()),
            "discriminator": _cpu(self.discriminator.state_dict()),
            "optimizer_g": self.optimizer_g.state_dict(),
            "optimizer_d": self.optimizer_d.state_dict(),
            "rng": self.rng.get_state(),
            "noise_rng": self.noise_rng.get_state(),
            "sampler": self.sampler.state_dict(),
            "fixed_noise": self.fixed_noise.cpu(),
            "augment_rng": self.augment_rng.get_state(),
            "num_classes": self.num_classes,  # the class embeddings' size, for vetting and load_generator
            "adaptive_augment": self.adaptive_augment.state_dict() if self.adaptive_augment is not None else None,
        }
        if self.ema_generator is not None:
            state["generator_ema"] = _cpu(self.ema_generator.state_dict())
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state_dict(); a state from a file goes through checkpoint.restore, which vets it first."""
        self.config = RunConfig.from_dict(state["config"])
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        if self.ema_generator is not None:
            self.ema_generator.load_state_dict(state.get("generator_ema", state["generator"]))
        self.optimizer_g.load_state_dict(state["optimizer_g"])
        self.optimizer_d.load_state_dict(state["optimizer_d"])
        self.rng.set_state(state["rng"])
        if self.distributed.rank == 0:
            self.noise_rng.set_state(state["noise_rng"])
        else:  # the checkpoint holds rank 0's noise state; other ranks derive theirs from the step
            self.noise_rng.manual_seed(noise_seed(self.config.training.seed, self.distributed.rank)
                                       + int(state["step"]))
        self.sampler.load_state_dict(state["sampler"])
        self.augment_rng.set_state(state["augment_rng"])
        if self.adaptive_augment is not None:
            self.adaptive_augment.load_state_dict(state["adaptive_augment"])
        self.fixed_noise = state["fixed_noise"].to(self.device)
        self.step_count = int(state["step"])
        self.time_s = float(state["time_s"])


def noise_seed(seed: int, rank: int) -> int:
    """Seed of a rank's noise generator: differs per rank, and from the batch-order seed."""
    return seed + SEED_OFFSETS["noise"] + 1_000_003 * rank


def _grad_norm(model: nn.Module) -> torch.Tensor:
    """L2 norm of all of a model's gradients, as a 0-d tensor (no host sync)."""
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    if not grads:
        return torch.zeros((), device=next(model.parameters()).device)
    return torch.nn.utils.get_total_norm(grads)


def _cpu(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {key: value.detach().cpu().clone() for key, value in state.items()}


@dataclass
class _Scored:
    """What the D phase hands the G phase and the row: the last D step's batch and scores."""

    fake: torch.Tensor
    """(B, C, H, W) fakes with G's graph."""
    z: torch.Tensor
    """(B, latent_dim) the noise they came from (paired halves under mode seeking)."""
    fake_labels: tuple[torch.Tensor, ...]
    """() or ((B,),): the fakes' condition."""
    real_logits: torch.Tensor
    """(B,) D's logits on the reals."""
    fake_logits: torch.Tensor
    """(B,) D's logits on the detached fakes, before D's update."""
    d_loss: torch.Tensor
    """D's GAN loss (without R1)."""
    grad_norm_d: torch.Tensor
    """0-d: the L2 norm of D's gradients."""
