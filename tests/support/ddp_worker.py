"""Run under torchrun by test_distributed.py: trains a tiny config and records, after every step,
the largest difference between the ranks' G and D weights. Usage: ddp_worker.py OUT STEPS ARCH"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gan_core.engine.distributed import init_from_environment, shutdown  # noqa: E402
from gan_core.engine.trainer import Trainer  # noqa: E402
from tests.support.configs import tiny_config  # noqa: E402


def flat(module: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in module.parameters()])


def main() -> None:
    out, steps, architecture = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    distributed = init_from_environment("cpu")
    config = tiny_config(batch_size=8)
    if architecture == "dcgan":
        config = config.with_changes({"model.architecture": "dcgan", "model.base_channels": 4,
                                      "model.discriminator_norm": "batch"})
    if architecture == "clusters":  # self-conditioned DCGAN: every rank must fit the same k-means clusters
        config = config.with_changes({"model.architecture": "dcgan", "model.base_channels": 4,
                                      "model.discriminator_norm": "spectral", "model.clusters": 8})
    trainer = Trainer(config, distributed=distributed)
    differences, d_fakes = [], []
    for _ in range(steps):
        row = trainer.step()
        for model in (trainer.generator, trainer.discriminator):
            mine = flat(model)
            gathered = [torch.empty_like(mine) for _ in range(distributed.world_size)]
            dist.all_gather(gathered, mine)
            differences.append(max((g - gathered[0]).abs().max().item() for g in gathered))
        d_fakes.append(row["d_fake"])
    all_fakes = [None] * distributed.world_size
    dist.all_gather_object(all_fakes, d_fakes)
    clusters = [None] * distributed.world_size
    dist.all_gather_object(clusters, None if trainer.cluster_labels is None else trainer.cluster_labels.tolist())
    if distributed.is_main:
        torch.save({"differences": differences, "clusters_by_rank": clusters, "d_fake_by_rank": all_fakes,
                    "generator": trainer.generator.state_dict(),
                    "discriminator": trainer.discriminator.state_dict()}, out)
    trainer.release_distributed()  # DDP wrappers freed before the group is destroyed (see shutdown)
    del trainer
    shutdown()
    # What the test checks: no DDP module (nor its reducer's hold on the group) outlives the group.
    from torch.nn.parallel import DistributedDataParallel

    alive = sum(isinstance(o, DistributedDataParallel) for o in __import__("gc").get_objects())
    out.with_name(f"{out.stem}.rank{distributed.rank}.ddp_alive").write_text(str(alive))


if __name__ == "__main__":
    main()
