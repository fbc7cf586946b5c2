"""torchrun integration: process group set-up and the facts each rank needs (rank, world size, device)."""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistributedInfo:
    """Where this process sits in a torchrun job; world_size 1 means a plain single process."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes the run directory and prints progress."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        """True under torchrun with more than one process."""
        return self.world_size > 1


SINGLE_PROCESS = DistributedInfo()


def init_from_environment(device_name: str) -> DistributedInfo:
    """Join the process group torchrun describes in RANK/WORLD_SIZE/LOCAL_RANK; nccl on CUDA, gloo on the CPU."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return SINGLE_PROCESS
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device_name != "cpu" and torch.cuda.is_available()
    if use_cuda:
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistributedInfo(rank=rank, world_size=world_size, local_rank=local_rank)


def shutdown() -> None:
    """Leave the process group together, freeing what holds it first.

    Callers drop their DDP wrappers (Trainer.release_distributed) before this. DDP modules live in
    reference cycles, so gc.collect() frees their reducers here, in the main thread, while the group
    is alive and idle; left to a later collection they may be destroyed during interpreter shutdown,
    after destroy_process_group, which is how rank 1 once died with SIGABRT ("terminate called
    without an active exception"). The barrier then holds every rank until all have done so (and
    rank 0 has written its last checkpoint) before any rank destroys the group.
    """
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()
        gc.collect()
