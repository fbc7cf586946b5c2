"""Benchmarks that print figures side by side with their baseline, measured in one process."""

from __future__ import annotations

import statistics
import time

import torch
from torch import nn

from gan_core.config import preset
from gan_core.data import load_dataset
from gan_core.trainer import Trainer


class SeedLoop:
    """The seed post's training loop as written there, with its one slip fixed (G's optimizer on G).

    DataLoader over the images, Sigmoid + BCELoss, fakes not detached in the D step, a second
    G forward for the G step: the baseline the Trainer is measured against.
    """

    def __init__(self, images: torch.Tensor, batch_size: int = 100, latent_size: int = 64,
                 hidden_size: int = 256, seed: int = 0) -> None:
        torch.manual_seed(seed)
        image_size = images[0].numel()
        self.batch_size, self.latent_size = batch_size, latent_size
        self.D = nn.Sequential(nn.Linear(image_size, hidden_size), nn.LeakyReLU(0.2),
                               nn.Linear(hidden_size, hidden_size), nn.LeakyReLU(0.2),
                               nn.Linear(hidden_size, 1), nn.Sigmoid())
        self.G = nn.Sequential(nn.Linear(latent_size, hidden_size), nn.ReLU(),
                               nn.Linear(hidden_size, hidden_size), nn.ReLU(),
                               nn.Linear(hidden_size, image_size), nn.Tanh())
        self.criterion = nn.BCELoss()
        self.d_optimizer = torch.optim.Adam(self.D.parameters(), lr=0.0002)
        self.g_optimizer = torch.optim.Adam(self.G.parameters(), lr=0.0002)
        dataset = torch.utils.data.TensorDataset(images, torch.zeros(len(images)))
        self.data_loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True,
                                                       drop_last=True)
        self._batches = iter(self.data_loader)

    def _next_batch(self) -> torch.Tensor:
        try:
            images, _ = next(self._batches)
        except StopIteration:
            self._batches = iter(self.data_loader)
            images, _ = next(self._batches)
        return images

    def step(self) -> None:
        """One iteration exactly as the post's loop body."""
        batch_size, D, G, criterion = self.batch_size, self.D, self.G, self.criterion
        images = self._next_batch().reshape(batch_size, -1)
        real_labels = torch.ones(batch_size, 1)
        fake_labels = torch.zeros(batch_size, 1)
        outputs = D(images)
        d_loss_real = criterion(outputs, real_labels)
        z = torch.randn(batch_size, self.latent_size)
        fake_images = G(z)
        outputs = D(fake_images)
        d_loss_fake = criterion(outputs, fake_labels)
        d_loss = d_loss_real + d_loss_fake
        self.d_optimizer.zero_grad()
        self.g_optimizer.zero_grad()
        d_loss.backward()
        self.d_optimizer.step()
        z = torch.randn(batch_size, self.latent_size)
        fake_images = G(z)
        outputs = D(fake_images)
        g_loss = criterion(outputs, real_labels)
        self.d_optimizer.zero_grad()
        self.g_optimizer.zero_grad()
        g_loss.backward()
        self.g_optimizer.step()


def _steps_per_second(step, steps: int) -> float:
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - started)


def _summary(label: str, values: list[float]) -> str:
    return f"{label:<28} median {statistics.median(values):8.1f} steps/s  (rounds: " \
           + ", ".join(f"{v:.1f}" for v in values) + ")"


def bench_engine(rounds: int = 5, steps: int = 200) -> int:
    """Seed loop vs Trainer(seed-mlp) on the same 5,000 digits, batch 100, alternating; prints steps/s."""
    config = preset("seed-mlp").with_changes({"training.device": "cpu"})
    dataset = load_dataset(config.data)
    seed_loop = SeedLoop(dataset.images, batch_size=config.training.batch_size)
    trainer = Trainer(config, dataset)
    for run in (seed_loop.step, trainer.step):  # warm up allocators and kernels
        _steps_per_second(run, 20)
    seed_rates, trainer_rates = [], []
    for _ in range(rounds):
        seed_rates.append(_steps_per_second(seed_loop.step, steps))
        trainer_rates.append(_steps_per_second(trainer.step, steps))
    ratio = statistics.median(trainer_rates) / statistics.median(seed_rates)
    print(f"bench engine: {rounds} alternating rounds of {steps} steps, batch {config.training.batch_size}, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}")
    print(_summary("seed loop (post, fixed)", seed_rates))
    print(_summary("Trainer (seed-mlp)", trainer_rates))
    print(f"ratio Trainer / seed loop: {ratio:.2f}x")
    return 0


def bench_session(rounds: int = 5, steps: int = 200) -> int:
    """TrainingSession vs bare Trainer.step() loop, pause latency, snapshot cost."""
    from gan_core.session_bench import run_session_bench

    return run_session_bench(rounds, steps)
