"""2D playground benchmarks (#11), each side by side with its baseline in one run:

- speed: the CLI training toy-ring (batch 256) headless, steps/s from its own start/stop events, against a
  bare eager PyTorch loop with the same networks, batch and optimizers (the floor of per-op overhead on this
  CPU), in alternating rounds;
- modes: ring-8 modes covered (and the share of samples near a mode) after 5,000 steps of the toy-ring
  preset, over 5 seeds;
- saturation: the median generator gradient norm over the first 200 steps, minimax vs non-saturating, same
  seeds (the seed post's argument: log(1 - D(G(z))) gives G little gradient where D rejects its fakes).

The page-open ratio is dashboard_bench.py --preset toy-ring. Only public gan_core APIs are used.
Usage: .venv/bin/python benchmarks/toy_bench.py speed|modes|saturation|all [--rounds 3] [--seconds 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from gan_core.config.presets import preset  # noqa: E402
from gan_core.engine.trainer import Trainer  # noqa: E402
from gan_core.quality.toy_metrics import toy_quality  # noqa: E402
from gan_core.runs.paths import RunPaths, read_events  # noqa: E402
from gan_core.views.latent import generate  # noqa: E402


def cli_rate(seconds: float, folder: Path) -> float:
    """steps/s of `python -m gan_core train --preset toy-ring` over its own start..stop events."""
    run_dir = folder / f"cli-{time.monotonic_ns()}"
    subprocess.run([sys.executable, "-m", "gan_core", "train", "--preset", "toy-ring", "--seconds", str(seconds),
                    "--run-dir", str(run_dir), "--quiet"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    events = read_events(RunPaths(run_dir).events)
    start = next(e for e in events if e["kind"] == "start")
    end = next(e for e in reversed(events) if e["kind"] in ("finish", "stop"))
    return (end["step"] - start["step"]) / (end["time"] - start["time"])


BARE_LOOP = r"""
import sys, time, torch, torch.nn.functional as F
sys.path.insert(0, sys.argv[2])
from gan_core.config.presets import preset
from gan_core.nets.point_models import PointDiscriminator, PointGenerator
from gan_core.data.toys import make_toy
torch.set_num_threads(1)
config = preset("toy-ring"); model, batch = config.model, config.training.batch_size
torch.manual_seed(0)
G, D = PointGenerator(model.latent_dim, model.hidden_dim, model.depth), PointDiscriminator(model.hidden_dim, model.depth)
betas = (config.optimizer.beta1, config.optimizer.beta2)
opt_g = torch.optim.Adam(G.parameters(), config.optimizer.lr_g, betas=betas, fused=True)
opt_d = torch.optim.Adam(D.parameters(), config.optimizer.lr_d, betas=betas, fused=True)
data = make_toy("ring8").points
ones, zeros = torch.ones(batch), torch.zeros(batch)
def step():
    real = data[torch.randint(0, len(data), (batch,))]
    fake = G(torch.randn(batch, model.latent_dim))
    logits = D(torch.cat([real, fake.detach()]))
    d_loss = F.binary_cross_entropy_with_logits(logits[:batch], ones) + F.binary_cross_entropy_with_logits(logits[batch:], zeros)
    opt_d.zero_grad(); d_loss.backward(); opt_d.step()
    g_loss = F.binary_cross_entropy_with_logits(D(fake), ones)
    opt_g.zero_grad(); g_loss.backward(); opt_g.step()
    return d_loss.item()
deadline = time.perf_counter() + 1.0
while time.perf_counter() < deadline: step()
count, started = 0, time.perf_counter()
while time.perf_counter() - started < float(sys.argv[1]):
    step(); count += 1
print(count / (time.perf_counter() - started))
"""


def bare_rate(seconds: float) -> float:
    """steps/s of a bare eager loop (no metrics row, no logging) with toy-ring's networks, in its own process."""
    output = subprocess.run([sys.executable, "-c", BARE_LOOP, str(seconds), str(ROOT)], check=True,
                            capture_output=True, text=True, cwd=ROOT).stdout
    return float(output.strip().splitlines()[-1])


def speed(rounds: int, seconds: float) -> None:
    cli, bare = [], []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(rounds):
            cli.append(cli_rate(seconds, Path(folder)))
            bare.append(bare_rate(seconds))
    print(f"speed: toy-ring, batch 256, {rounds} alternating rounds of {seconds:.0f} s")
    print(f"  bare eager loop   median {statistics.median(bare):7.1f} steps/s ({', '.join(f'{r:.1f}' for r in bare)})")
    print(f"  CLI train         median {statistics.median(cli):7.1f} steps/s ({', '.join(f'{r:.1f}' for r in cli)})"
          f"; ratio to the bare loop {statistics.median(cli) / statistics.median(bare):.3f}x")


def modes(seeds: int, steps: int) -> None:
    torch.set_num_threads(1)
    print(f"modes: toy-ring preset, {steps} steps, seeds 0..{seeds - 1}, 2,000 samples scored")
    covered = []
    for seed in range(seeds):
        trainer = Trainer(preset("toy-ring").with_changes({"training.seed": seed}))
        for _ in range(steps):
            trainer.step()
        fake = generate(trainer.sampling_generator(), torch.randn(2000, trainer.config.model.latent_dim,
                                                                   generator=torch.Generator().manual_seed(seed)))
        quality = toy_quality(trainer.images, fake, trainer.dataset.modes, trainer.dataset.mode_std)
        covered.append(quality.modes_covered)
        print(f"  seed {seed}: {quality.modes_covered} of {quality.modes_total} modes, "
              f"{quality.high_quality_share:.0%} of samples within 3 std of a mode, KL {quality.kl:.2f}, JS {quality.js:.3f}")
    print(f"  median modes covered {statistics.median(covered)} of 8 (min {min(covered)}, max {max(covered)})")


def saturation(seeds: int, steps: int) -> None:
    torch.set_num_threads(1)
    print(f"saturation: toy-ring, median |grad G| over the first {steps} steps, seeds 0..{seeds - 1}")
    table = {}
    for loss in ("minimax", "non_saturating"):
        medians, d_fake = [], []
        for seed in range(seeds):
            trainer = Trainer(preset("toy-ring").with_changes({"training.seed": seed, "loss.loss": loss}))
            rows = [trainer.step() for _ in range(steps)]
            medians.append(statistics.median(r["grad_norm_g"] for r in rows))
            d_fake.append(statistics.median(r["d_fake"] for r in rows))
        table[loss] = statistics.median(medians)
        print(f"  {loss:<15} median |grad G| {table[loss]:.4f} (per seed {', '.join(f'{m:.4f}' for m in medians)}); "
              f"median D(G(z)) {statistics.median(d_fake):.3f}")
    print(f"  ratio non-saturating / minimax {table['non_saturating'] / table['minimax']:.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=("speed", "modes", "saturation", "all"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=0, help="modes: 5,000; saturation: 200 (0: these defaults)")
    args = parser.parse_args()
    if args.which in ("speed", "all"):
        speed(args.rounds, args.seconds)
    if args.which in ("modes", "all"):
        modes(args.seeds, args.steps or 5000)
    if args.which in ("saturation", "all"):
        saturation(args.seeds, args.steps or 200)
    return 0


if __name__ == "__main__":
    sys.exit(main())
