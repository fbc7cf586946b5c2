"""The checkpoint schema: version-1 files written by the code before version 2 (committed fixtures) load through
one migration, keep every key version 2 requires, and resume where they left off."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gan_core.config.schema import RunConfig
from gan_core.engine.trainer import Trainer
from gan_core.runs.checkpoint import load_checkpoint, restore, save_checkpoint
from gan_core.runs.schema import CHECKPOINT_SCHEMA_VERSION, REQUIRED_KEYS, migrate
from gan_core.runs.vetting import CheckpointError

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MODES = ("mlp", "self-conditioned", "conditional")  # unconditional; clusters + mode seeking + fixed augment;
# classes + R1 + label smoothing + 2 D steps + EMA + adaptive augment + BatchNorm


@pytest.fixture
def one_thread():
    """The fixture's rows were recorded on one thread: reductions then add in the same order."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("mode", MODES)
def test_a_version_1_checkpoint_resumes_where_the_code_that_wrote_it_left_off(mode, one_thread):
    raw = torch.load(FIXTURES / f"v1_{mode}.pt", weights_only=True)
    assert raw["schema_version"] == 1  # the fixture really is the old schema
    state = load_checkpoint(FIXTURES / f"v1_{mode}.pt")
    assert state["schema_version"] == CHECKPOINT_SCHEMA_VERSION == 2
    assert all(key in state for key in REQUIRED_KEYS)
    trainer = Trainer(RunConfig.from_dict(state["config"]))
    restore(trainer, state)
    rows = [trainer.step() for _ in range(4)]
    # The four steps the writing code trained right after saving (tests/fixtures/make_v1_checkpoints.py).
    expected = json.loads((FIXTURES / f"v1_{mode}.rows.json").read_text())
    for got, want in zip(rows, expected):
        assert {k: got[k] for k in ("step", "epoch", "lr_d", "lr_g")} == {k: want[k] for k in ("step", "epoch",
                                                                                         "lr_d", "lr_g")}
        assert {k: got[k] for k in want} == pytest.approx(want, rel=1e-5, abs=1e-6)


def test_a_resumed_version_1_run_saves_version_2(tmp_path, one_thread):
    state = load_checkpoint(FIXTURES / "v1_conditional.pt")
    trainer = Trainer(RunConfig.from_dict(state["config"]))
    restore(trainer, state)
    trainer.step()
    path = save_checkpoint(trainer.state_dict(), tmp_path / "step.pt")
    raw = torch.load(path, weights_only=True)
    assert raw["schema_version"] == 2 and raw["num_classes"] == trainer.num_classes > 0
    assert set(raw["adaptive_augment"]) == {"probability", "signal"}
    again = load_checkpoint(path)
    assert torch.equal(again["augment_rng"], trainer.augment_rng.get_state())


def test_the_migration_fills_what_version_1_left_out_with_the_trainers_own_start():
    state = torch.load(FIXTURES / "v1_mlp.pt", weights_only=True)
    del state["augment_rng"]  # checkpoints from before augmentation existed
    state.pop("num_classes", None)
    state.pop("adaptive_augment", None)
    migrated = migrate(state, "old.pt")
    config = RunConfig.from_dict(state["config"])
    fresh = Trainer(config)  # what a version-1 trainer kept when the key was missing: the seeded start
    assert torch.equal(migrated["augment_rng"], fresh.augment_rng.get_state())
    assert migrated["num_classes"] == 0 and migrated["adaptive_augment"] is None


@pytest.mark.parametrize("version", [0, 3, "2", None, True])
def test_an_unknown_schema_version_is_refused_naming_it(version):
    state = torch.load(FIXTURES / "v1_mlp.pt", weights_only=True)
    state["schema_version"] = version
    with pytest.raises(CheckpointError, match=rf"schema version {version!r}.*reads versions 1 to 2"):
        migrate(state, "odd.pt")


def test_a_version_1_file_with_a_bad_config_is_refused_before_migrating():
    state = torch.load(FIXTURES / "v1_mlp.pt", weights_only=True)
    state["config"] = {"model": {"latent_dim": -1}}
    with pytest.raises(CheckpointError, match="invalid config: model.latent_dim=-1"):
        migrate(state, "bad.pt")
