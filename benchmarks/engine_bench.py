"""Engine benchmarks that print figures side by side with their baseline, measured in one process:
the Trainer against the seed post's loop (engine), a TrainingSession against a bare loop with pause
latency and snapshot cost (session), and trained presets' sample quality (quality).

Only public APIs of gan_core are used. `python -m gan_core bench ...` is a thin entry to this file.
Usage: .venv/bin/python benchmarks/engine_bench.py engine|session|quality [--rounds 5] [--steps 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from gan_core.config.fields import parse_value  # noqa: E402
from gan_core.config.presets import preset  # noqa: E402
from gan_core.data.datasets import load_dataset  # noqa: E402
from gan_core.engine.trainer import Trainer  # noqa: E402


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
    """TrainingSession vs a bare Trainer.step() loop (alternating), pause latency, snapshot cost."""
    import tempfile

    from gan_core.control.session import TrainingSession

    print(f"bench session: {rounds} alternating rounds of {steps} steps per preset, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as runs_root:
        for name in ("default", "seed-mlp"):
            # Live evaluation off: it has its own budget (under 10%, measured by bench quality's doc).
            config = preset(name).with_changes({"training.device": "cpu", "training.eval_every": 0})
            bare = Trainer(config)
            session = TrainingSession(runs_root=runs_root)
            session.start(config, paused=True)
            _steps_per_second(bare.step, 10)
            bare_rates, session_rates = [], []
            for _ in range(rounds):
                bare_rates.append(_steps_per_second(bare.step, steps))
                session_rates.append(_session_steps_per_second(session, steps / bare_rates[-1]))
            ratio = statistics.median(session_rates) / statistics.median(bare_rates)
            print(_summary(f"{name}: bare Trainer loop", bare_rates))
            print(_summary(f"{name}: TrainingSession", session_rates))
            print(f"{name}: ratio session / bare: {ratio:.3f}x")
            if name == "default":
                _pause_latency(session, statistics.median(session_rates))
            session.stop()
            session.wait_for(lambda s: s.status == "finished", 60)
        _snapshot_cost(runs_root)
    return 0


def _session_steps_per_second(session, seconds: float) -> float:
    """Resume a paused session, count the steps it takes in a wall-clock window, pause again.

    The caller sleeps through the window (as a page between refreshes does) instead of
    polling, so the measurement itself does not compete for the GIL.
    """
    session.resume()
    session.wait_for(lambda s: s.status == "running", 10)
    start_step, started = session.snapshot().step, time.perf_counter()
    time.sleep(seconds)
    done, elapsed = session.snapshot().step - start_step, time.perf_counter() - started
    session.pause()
    session.wait_for(lambda s: s.status == "paused", 30)
    return done / elapsed


def _pause_latency(session, steps_per_second: float, count: int = 100) -> None:
    """Time from pause() to the thread reporting paused, over `count` pauses at random points of a step."""
    import random

    rng = random.Random(0)
    latencies = []
    for _ in range(count):
        session.resume()
        session.wait_for(lambda s: s.status == "running", 10)
        time.sleep(rng.uniform(0.02, 0.08))
        started = time.perf_counter()
        session.pause()
        session.wait_for(lambda s: s.status == "paused", 30)
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    step_ms = 1000 / steps_per_second
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99) - 1]
    print(f"pause latency over {count} pauses: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms "
          f"(one step = {step_ms:.1f} ms; goal p99 < {step_ms + 50:.1f} ms)")


def _snapshot_cost(runs_root: str, rows: int = 100_000) -> None:
    """snapshot(since=...) cost with 100k logged rows: 10 new rows vs all rows.

    The rows come from a run directory written here (metrics.csv of `rows` rows and a checkpoint at
    that step) and resumed paused, as a page would find a long run: 100k real steps would take minutes.
    """
    from gan_core.columns import METRIC_NAMES
    from gan_core.config.schema import DataConfig, ModelConfig, RunConfig, TrainingConfig
    from gan_core.control.session import TrainingSession
    from gan_core.record.opening import create_run_dir
    from gan_core.runs.checkpoint import save_checkpoint
    from gan_core.runs.lock import release_run_lock
    from gan_core.runs.metrics import MetricsWriter

    config = RunConfig(name="snap", data=DataConfig(limit=200),
                       model=ModelConfig(latent_dim=8, hidden_dim=8, depth=1),
                       training=TrainingConfig(batch_size=8, device="cpu"))
    paths = create_run_dir(config, runs_root)
    trainer = Trainer(config)
    writer = MetricsWriter(paths.metrics)
    for step in range(1, rows + 1):
        writer.append({name: step if name == "step" else 1.0 for name in METRIC_NAMES})
    writer.close()
    trainer.step_count = rows  # the checkpoint a resume starts from, at the last row's step
    save_checkpoint(trainer.state_dict(), paths.latest)
    release_run_lock(paths.root)
    session = TrainingSession(runs_root=runs_root)
    session.resume_run(paths.root, paused=True)
    cursor = session.snapshot().cursor
    recent = (cursor[0], cursor[1] - 10)
    for label, since, repeats in (("10 new rows", recent, 2000), ("all rows", 0, 20)):
        started = time.perf_counter()
        for _ in range(repeats):
            session.snapshot(since=since)
        print(f"snapshot(since=...) at {rows:,} rows, {label}: {(time.perf_counter() - started) / repeats * 1e6:,.0f} us")
    session.stop()
    session.wait_for(lambda s: s.status == "finished", 30)


def bench_quality(seconds: float = 120.0, samples: int = 2000, presets: tuple[str, ...] = ("seed-mlp", "default", "dcgan"),
                  grids_dir: str | None = "docs", overrides: dict | None = None) -> int:
    """Train each preset for a wall-clock budget in one run, score it, print a markdown table."""
    from pathlib import Path

    from gan_core.quality.evaluator import Evaluator, conditional_inputs
    from gan_core.views.latent import generate, image_grid, save_png, zs_from_seeds

    dataset = load_dataset(preset("default").data)
    evaluator = Evaluator.for_data(preset("default").data, dataset=dataset)
    reference = evaluator.reference(dataset.images)
    rows = [("real data (two halves)", reference, 0, 0.0)]
    for name in presets:
        config = preset(name).with_changes({"training.device": "cpu", **(overrides or {}).get(name, {})})
        trainer = Trainer(config, dataset)
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            trainer.step()
        elapsed = time.perf_counter() - started
        model = trainer.sampling_generator()
        if trainer.num_classes:  # a conditional preset: balanced classes, and does each sample show its class?
            z, labels = conditional_inputs(samples, trainer.num_classes, config.model.latent_dim)
            images = generate(model, z, labels=labels)
            score = {**evaluator.score(images), **evaluator.conditional_scores(images, labels, dataset.labels)}
        else:
            images = generate(model, zs_from_seeds(range(samples), config.model.latent_dim))
            score = evaluator.score(images)
        rows.append((name, score, trainer.step_count,
                     trainer.step_count * config.training.batch_size * config.optimizer.d_steps_per_g_step / elapsed))
        if grids_dir:
            save_png(image_grid(images[:64]), Path(grids_dir) / f"quality_{name}.png")
    print(f"bench quality: {seconds:.0f} s per preset on mnist5k, {samples} samples, classifier accuracy "
          f"{evaluator.accuracy:.3f}, torch {torch.__version__}, {torch.get_num_threads()} threads"
          + (f", changes {overrides}" if any((overrides or {}).values()) else ""))
    print("| preset | FID | classes >= 2% | class shares (min-max) | KL to uniform | precision | recall | steps "
          "| images/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, score, steps, speed in rows:
        shares = score["class_shares"]
        print(f"| {name} | {score['fid']:.2f} | {score['classes_covered']} | {min(shares):.1%}-{max(shares):.1%} | "
              f"{score['kl_uniform']:.3f} | {score['precision']:.3f} | {score['recall']:.3f} | {steps or '-'} | "
              f"{speed:,.0f} |")
    for name, score, _, _ in rows:
        if "conditional_accuracy" in score:
            print(f"{name}: conditional accuracy {score['conditional_accuracy']:.3f} (chance 0.100); per-class FID "
                  + " ".join(f"{value:.1f}" for value in score["per_class_fid"]))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The benchmarks' arguments (the same as `python -m gan_core bench`)."""
    parser = argparse.ArgumentParser(prog="engine_bench.py", description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=("engine", "session", "quality"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=200, help="steps per round")
    parser.add_argument("--seconds", type=float, default=120.0, help="quality: training budget per preset")
    parser.add_argument("--n", type=int, default=2000, help="quality: samples scored per preset")
    parser.add_argument("--presets", default="seed-mlp,default,dcgan", help="quality: presets to train")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="quality: change a config field of every preset (a variant while tuning)")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the benchmark args.which names; ValueError for arguments out of range."""
    if args.rounds < 1 or args.steps < 1:
        raise ValueError("--rounds and --steps must be integers >= 1")
    if args.which == "quality":
        if args.seconds <= 0 or args.n < 10:
            raise ValueError("--seconds must be > 0 and --n at least 10")
        changes = {}
        for item in getattr(args, "set", []):
            key, _, text = item.partition("=")
            changes[key] = parse_value(key, text)
        presets = tuple(args.presets.split(","))
        return bench_quality(args.seconds, args.n, presets, grids_dir=None if changes else "docs",
                             overrides={name: changes for name in presets})
    return {"engine": bench_engine, "session": bench_session}[args.which](args.rounds, args.steps)


if __name__ == "__main__":
    sys.exit(run(build_parser().parse_args()))
