"""The configuration sidebar: one widget per config field, each validated with the config's own message.

The fields, their order, their widgets and their help come from the config schema (gan_core/config/schema.py):
a field added there shows up here, with its docstring as its help, and no list here needs editing. Only
what the schema cannot say is declared below: friendlier labels, the choices of a closed set.
"""

from __future__ import annotations

import os
from typing import Any

import streamlit as st

from dashboard.form.help import PRESET_HELP, render_settings_reference, setting_help
from dashboard.form.upload import render_upload
from gan_core.config.fields import LIVE_FIELDS, field_type, live_values, section_fields, validation_errors
from gan_core.config.presets import PRESET_NAMES, preset, toy_preset
from gan_core.config.schema import (ARCHITECTURES, AUGMENT_MODES, DATASET_NAMES, DEVICES, DISCRIMINATOR_NORMS,
                                    LOSS_NAMES, TOY_DATASET_NAMES, RunConfig, changed_dict, resolve_field)

# Labels people read (a field without one shows its own name, e.g. "Tensorboard" for training.tensorboard).
LABELS: dict[str, str] = {
    "data.name": "Data set", "data.root": "torchvision root folder", "data.download": "Download (needs internet)",
    "data.path": "Image folder", "data.image_size": "Image size (0 = native)", "data.channels": "Channels (0 = native)",
    "data.limit": "Use first N images (0 = all)", "data.points": "Drawn points",
    "model.architecture": "Architecture", "model.latent_dim": "Latent size", "model.hidden_dim": "MLP hidden width",
    "model.depth": "MLP hidden layers", "model.base_channels": "DCGAN base channels",
    "model.discriminator_norm": "D normalisation", "model.conditional": "Class-conditional (labels)",
    "model.clusters": "Self-conditioning clusters (0 = off)",
    "loss.loss": "Loss", "loss.label_smoothing": "Label smoothing (real)",
    "loss.r1_gamma": "R1 penalty gamma (0 = off)",
    "loss.r1_interval": "R1 every N steps", "loss.mode_seeking": "Mode-seeking weight (0 = off)",
    "optimizer.lr_d": "Learning rate D", "optimizer.lr_g": "Learning rate G", "optimizer.beta1": "Adam beta1",
    "optimizer.beta2": "Adam beta2", "optimizer.d_steps_per_g_step": "D steps per G step",
    "training.batch_size": "Batch size", "training.seed": "Seed", "training.device": "Device",
    "training.ema_decay": "EMA of G (0 = off)", "training.sample_every": "Save grid every N steps",
    "training.checkpoint_every": "Checkpoint every N steps", "training.grid_size": "Samples per grid",
    "training.autocast_bf16": "bf16 autocast", "training.compile": "torch.compile",
    "training.eval_every": "Evaluate quality every N steps (0 = off)",
    "training.eval_samples": "Samples per evaluation",
    "training.augment": "Augment D's inputs", "training.augment_p": "Augment probability p",
    "training.augment_target": "Adaptive target r_t", "training.tensorboard": "TensorBoard event files",
}
# Fields with a closed set of values: a select box (any other text field is a text input).
CHOICES: dict[str, tuple] = {
    "data.name": DATASET_NAMES, "data.channels": (0, 1, 3), "model.architecture": ARCHITECTURES,
    "model.discriminator_norm": DISCRIMINATOR_NORMS, "loss.loss": LOSS_NAMES, "training.device": DEVICES,
    "training.augment": AUGMENT_MODES,
}
_KINDS = {bool: "bool", int: "int", float: "float", str: "text", tuple: "points"}


def _spec(field: str) -> tuple[str, str, str, Any]:
    """(dotted field, label, widget kind, options) from the schema: select for a closed set, else by type."""
    label = LABELS.get(field) or field.split(".", 1)[1].replace("_", " ").capitalize()
    kind = "select" if field in CHOICES else _KINDS.get(field_type(field), "text")
    return field, label, kind, CHOICES.get(field)


# (dotted field, label, widget kind, options) in the schema's order; kind: select, int, float, text, bool, points.
FIELDS: list[tuple[str, str, str, Any]] = [_spec(field) for field in section_fields()]
_LABELS = {field: label for field, label, *_ in FIELDS}
SECTIONS = {"data": "Data", "model": "Model", "loss": "Loss", "optimizer": "Optimizer",
            "training": "Training"}


def widget_key(field: str) -> str:
    """The session_state key of a field's widget."""
    return f"cfg.{field}"


def _field_value(config: RunConfig, field: str) -> Any:
    section, name = resolve_field(field)
    return getattr(getattr(config, section), name)


VALUES_KEY = "config_values"


def load_preset_into_state(name: str) -> None:
    """Set every field to the preset's value.

    The values live in a plain dict, since Streamlit forgets a widget's state while the
    widget is hidden (an MLP-only field while DCGAN is chosen, say).
    """
    config = preset(name)
    st.session_state[VALUES_KEY] = {field: _field_value(config, field) for field, *_ in FIELDS}
    for field, *_ in FIELDS:
        st.session_state.pop(widget_key(field), None)


PENDING_CONFIG_KEY = "config_to_load"


def request_config_load(config: RunConfig) -> None:
    """Show this config in the sidebar from the next rerun on (a resumed run's own settings)."""
    st.session_state[PENDING_CONFIG_KEY] = config


SYNCED_KEY = "config_synced"  # (the run this tab's sidebar shows, that run's live values when last taken)
PRESET_KEY = "cfg.preset"


def follow_run(run: tuple, config: RunConfig) -> None:
    """During a run, before the sidebar is drawn: show that run's settings, so Apply offers only this tab's
    own edits. A run this tab has not shown yet (started in another tab, resumed, a reload) brings every
    field and its preset; a live change made since (here or in another tab) replaces each field this tab's
    user has not edited since. `run` names the run: (run directory, the session's generation)."""
    live = live_values(config)
    synced = st.session_state.get(SYNCED_KEY)
    st.session_state[SYNCED_KEY] = (run, live)
    if synced is None or synced[0] != run:
        request_config_load(config)
        return
    shown = synced[1]
    stored = st.session_state.get(VALUES_KEY, {})
    untouched = {field for field in live  # as this tab's sidebar last took it from the run
                 if st.session_state.get(widget_key(field), stored.get(field)) == shown.get(field)}
    follow = {field: value for field, value in live.items() if value != shown.get(field) and field in untouched}
    if follow:
        set_fields(follow)


def _load_pending_config() -> None:
    config = st.session_state.pop(PENDING_CONFIG_KEY, None)
    if config is None:
        return
    st.session_state[VALUES_KEY] = {field: _field_value(config, field) for field, *_ in FIELDS}
    st.session_state[PRESET_KEY] = config.name  # a run's name is its preset's when the page started it
    for field, *_ in FIELDS:
        st.session_state.pop(widget_key(field), None)


def _base(name: str) -> RunConfig:
    """What the sidebar's fields are laid over: the preset, or (a run started elsewhere under its own name)
    the default preset under that name."""
    return preset(name) if name in PRESET_NAMES else preset("default").with_changes({"name": name})


def validate(values: dict[str, Any], name: str) -> tuple[RunConfig | None, dict[str, str]]:
    """(config, {}) when valid, else (None, {field: the config's own message}) for every bad field at once."""
    nested = changed_dict(_base(name).to_dict(), values)
    errors = dict(validation_errors(nested))
    return (None, errors) if errors else (RunConfig.from_dict(nested), {})


def render_sidebar(active: bool) -> tuple[RunConfig | None, dict[str, str], str]:
    """Draw the config form; returns (config or None, errors by field, preset name).

    While a run is active only the live fields stay editable; they apply with Apply.
    """
    sidebar = st.sidebar
    sidebar.header("Configure")
    _load_pending_config()
    if VALUES_KEY not in st.session_state:
        st.session_state[PRESET_KEY] = "default"
        load_preset_into_state("default")
    stored = st.session_state[VALUES_KEY]
    # A run started elsewhere (the CLI) under a name of its own shows that name while the sidebar holds it.
    shown = st.session_state.get(PRESET_KEY, "default")
    names = PRESET_NAMES if shown in PRESET_NAMES else (*PRESET_NAMES, shown)
    preset_name = sidebar.selectbox("Preset", names, key=PRESET_KEY, disabled=active, help=PRESET_HELP,
                                    on_change=_choose_preset)
    slots: dict[str, Any] = {}
    values: dict[str, Any] = {}
    dataset = st.session_state.get(widget_key("data.name"), stored["data.name"])
    architecture = st.session_state.get(widget_key("model.architecture"), stored["model.architecture"])
    current_section = None
    for field, label, kind, options in FIELDS:
        section = field.split(".")[0]
        if section != current_section:
            sidebar.subheader(SECTIONS.get(section, section.capitalize()))
            current_section = section
        if not _relevant(field, dataset, architecture):
            values[field] = stored[field]
            continue
        if widget_key(field) not in st.session_state:
            st.session_state[widget_key(field)] = stored[field]
        disabled = active and field not in LIVE_FIELDS
        values[field] = stored[field] = _widget(sidebar, field, label, kind, options, disabled)
        slots[field] = sidebar.empty()  # the field's error message goes right below it
        if field == "data.path":  # the folder data set: upload one, and see the chosen upload's images
            render_upload(sidebar, os.environ.get("GAN_WORKBENCH_RUNS", "runs"), values[field], set_fields, active)
    config, errors = validate(values, preset_name)
    for field, message in errors.items():
        if field in slots:
            slots[field].error(message)
        elif field:
            sidebar.error(message)
    if "" in errors:
        sidebar.error(errors[""])
    render_settings_reference(sidebar, _LABELS)
    return config, errors, preset_name


def _choose_preset() -> None:
    name = st.session_state[PRESET_KEY]
    if name in PRESET_NAMES:  # not the name of a run shown earlier
        load_preset_into_state(name)


def set_fields(changes: dict[str, Any]) -> None:
    """Give some fields new values from outside the form (an image upload); their widgets show them next run."""
    st.session_state.setdefault(VALUES_KEY, {}).update(changes)
    for field in changes:
        st.session_state.pop(widget_key(field), None)


def use_drawn_points(points: list) -> None:
    """The playground's "Use drawn points": data.name becomes drawn with these points (the config vets them);
    a config for images becomes the toy preset's, so the next Start trains a point GAN on them."""
    stored = st.session_state.setdefault(VALUES_KEY, {})
    if stored.get("data.name") not in TOY_DATASET_NAMES:
        base = toy_preset("ring8")  # the toy settings; the data set is replaced below
        stored.update({field: _field_value(base, field) for field, *_ in FIELDS})
    stored["data.name"] = "drawn"
    stored["data.points"] = tuple(tuple(p) if isinstance(p, list) else p for p in points)
    for field, *_ in FIELDS:
        st.session_state.pop(widget_key(field), None)


def _relevant(field: str, dataset: str, architecture: str) -> bool:
    """Hide fields that do nothing for the chosen data set and architecture."""
    points = dataset in TOY_DATASET_NAMES
    if field == "data.points":
        return dataset == "drawn"
    if points and field in ("data.image_size", "data.channels", "model.base_channels", "model.conditional",
                            "model.clusters", "training.augment",
                            "training.augment_p", "training.augment_target"):
        return False
    if field in ("data.root", "data.download"):
        return dataset in ("mnist", "fashion-mnist", "cifar10")
    if field == "data.path":
        return dataset == "folder"
    if field in ("model.hidden_dim", "model.depth"):
        return architecture == "mlp"
    if field == "model.base_channels":
        return architecture == "dcgan"
    return True


def _widget(container, field: str, label: str, kind: str, options: Any, disabled: bool) -> Any:
    key, help_text = widget_key(field), setting_help(field)
    if kind == "points":  # drawn on the playground's canvas, not typed: shown as a count
        points = st.session_state.get(key) or ()
        container.caption(f"{label}: {len(points)} (draw them on the playground's canvas)", help=help_text)
        return points
    if kind == "select":
        return container.selectbox(label, options, key=key, disabled=disabled, help=help_text)
    if kind == "bool":
        return container.checkbox(label, key=key, disabled=disabled, help=help_text)
    if kind == "text":
        return container.text_input(label, key=key, disabled=disabled, help=help_text)
    if kind == "int":
        # No min/max here on purpose: the config's validation gives the message, beside the field.
        return int(container.number_input(label, key=key, step=1, disabled=disabled, help=help_text))
    return float(container.number_input(label, key=key, format="%g", disabled=disabled, help=help_text))


def field_label(field: str) -> str:
    """The sidebar's label of a dotted config field ('optimizer.lr_g' -> 'Learning rate G'); the field itself otherwise."""
    return _LABELS.get(field, field or "a setting")


def live_changes(values_config: RunConfig | None, running_config: RunConfig | None) -> dict[str, Any]:
    """The live fields whose sidebar value differs from the running config's."""
    if values_config is None or running_config is None:
        return {}
    new, running = live_values(values_config), live_values(running_config)
    return {path: value for path, value in new.items() if value != running[path]}
