import json

import pytest

from gan_core.config.fields import parse_value, validation_errors
from gan_core.config.presets import PRESET_NAMES, preset
from gan_core.config.schema import RunConfig

# (dotted field, bad value) for every field of every section.
BAD_VALUES = [
    ("name", ""), ("name", "has space"),
    ("data.name", "imagenet"), ("data.root", 3), ("data.download", "yes"), ("data.path", 5),
    ("data.image_size", 3), ("data.image_size", 1000), ("data.channels", 2), ("data.limit", -1),
    ("model.architecture", "resnet"), ("model.latent_dim", 0), ("model.hidden_dim", -4),
    ("model.depth", 0), ("model.base_channels", 2), ("model.discriminator_norm", "layer"),
    ("loss.loss", "wasserstein"), ("loss.label_smoothing", 0.9), ("loss.label_smoothing", -0.1),
    ("optimizer.lr_d", 0.0), ("optimizer.lr_g", 2.0), ("optimizer.beta1", 1.0),
    ("optimizer.beta2", -0.5), ("optimizer.d_steps_per_g_step", 0),
    ("training.batch_size", 0), ("training.seed", -1), ("training.device", "tpu"),
    ("training.ema_decay", 1.0), ("training.sample_every", 0), ("training.checkpoint_every", 0),
    ("training.grid_size", 0), ("training.batch_size", 2.5), ("training.autocast_bf16", "yes"),
    ("training.compile", 1), ("training.eval_every", -1), ("training.eval_samples", 5),
]


@pytest.mark.parametrize("field,value", BAD_VALUES)
def test_every_field_rejects_a_bad_value_naming_it(field, value):
    with pytest.raises(ValueError) as error:
        RunConfig().with_changes({field: value})
    message = str(error.value)
    assert field in message and repr(value) in message and "allowed" in message


def test_folder_needs_a_path():
    with pytest.raises(ValueError, match="data.path"):
        RunConfig().with_changes({"data.name": "folder"})


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_presets_round_trip_through_json(name):
    config = preset(name)
    assert RunConfig.from_dict(json.loads(config.to_json())) == config
    assert RunConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_seed_mlp_is_the_seed_post():
    config = preset("seed-mlp")
    assert (config.model.architecture, config.model.latent_dim, config.model.hidden_dim,
            config.model.depth) == ("mlp", 64, 256, 2)
    assert (config.optimizer.lr_d, config.optimizer.lr_g) == (2e-4, 2e-4)
    assert (config.optimizer.beta1, config.optimizer.beta2) == (0.9, 0.999)
    assert config.training.batch_size == 100
    assert config.loss.loss == "non_saturating" and config.data.name == "mnist5k"


def test_unknown_keys_are_named():
    values = RunConfig().to_dict()
    values["optimizer"]["learning_rate"] = 1.0
    values["colour"] = "red"
    with pytest.raises(ValueError, match="colour"):
        RunConfig.from_dict(values)
    del values["colour"]
    with pytest.raises(ValueError, match="optimizer.learning_rate"):
        RunConfig.from_dict(values)


def test_configs_are_frozen():
    config = RunConfig()
    with pytest.raises(Exception):
        config.optimizer.lr_d = 1.0  # type: ignore[misc]


def test_with_changes_accepts_bare_and_dotted_names():
    config = RunConfig().with_changes({"lr_g": 1e-3, "training.batch_size": 32})
    assert config.optimizer.lr_g == 1e-3 and config.training.batch_size == 32
    with pytest.raises(ValueError, match="unknown config field 'nope'"):
        RunConfig().with_changes({"nope": 1})


def test_parse_value_uses_the_field_type():
    assert parse_value("lr_g", "1e-3") == 1e-3
    assert parse_value("batch_size", "64") == 64
    assert parse_value("data.download", "true") is True
    with pytest.raises(ValueError, match="batch_size"):
        parse_value("batch_size", "many")


def test_validation_errors_lists_every_bad_field_at_once_with_the_raising_messages():
    bad = {"data.path": {"data.name": "folder"},  # a folder data set and no path: a cross-field rule
           "optimizer.lr_g": {"optimizer.lr_g": 5.0}, "training.batch_size": {"training.batch_size": 0},
           "name": {"name": "has space"}}
    expected = []
    for field, changes in bad.items():
        with pytest.raises(ValueError) as raised:  # the raising API still stops at the first problem
            RunConfig().with_changes(changes)
        expected.append((field, str(raised.value)))
    values = RunConfig().to_dict()
    values["data"]["name"], values["optimizer"]["lr_g"], values["training"]["batch_size"] = "folder", 5.0, 0
    values["name"] = "has space"
    assert validation_errors(values) == expected
    with pytest.raises(ValueError, match="data.path"):
        RunConfig.from_dict(values)


def test_validation_errors_is_empty_for_a_valid_config_and_names_structural_problems():
    assert validation_errors(preset("dcgan").to_dict()) == []
    values = RunConfig().to_dict()
    values["optimizer"]["learning_rate"] = 1.0
    errors = validation_errors(values)
    assert len(errors) == 1 and errors[0][0] == "" and "optimizer.learning_rate" in errors[0][1]
