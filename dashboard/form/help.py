"""Words for a newcomer: the intro paragraph shown until the first Start, the playground's guide, and the help
of every setting, which is its docstring in gan_core/config/schema.py (config/fields.py field_help): written
once, shown beside each sidebar field and in the settings reference below the form."""

from __future__ import annotations

import streamlit as st

from dashboard.ui.text import plain
from gan_core.config.fields import LIVE_FIELDS, field_help

INTRO_DONE_KEY = "intro.done"
INTRO = (
    "**New here?** GAN Workbench trains a generative adversarial network in this page: a generator G "
    "learns to draw digits from random noise while a discriminator D learns to tell its drawings from "
    "real ones. Press **Start** to train the default settings (a small DCGAN on 5,000 MNIST digits, "
    "no download needed); the Training view then shows both losses, D's scores on real and generated "
    "images, and the same 64 noise vectors turning into digits. Pause, Step and Resume at any time; "
    "the sidebar's settings each have a **?** that says what they do, and those marked live (learning "
    "rates, betas, loss, D steps, smoothing) can be changed mid-run with Apply. **Runs** lists, compares "
    "and manages every run; **Latent explorer** samples from any generator, the live one or a checkpoint."
)

PRESET_HELP = ("A named starting point for every field below: default (the best 2-minute CPU run we "
               "measured), seed-mlp (the blog post's MLP GAN), dcgan (Radford et al.'s recipe, 28x28), conditional "
               "(the default made class-conditional: ask for a digit), "
               "and the 2D playground's toys: toy-ring (8 Gaussians on a ring, the classic mode-collapse "
               "case), toy-grid (25 Gaussians), toy-moons, toy-spiral.")
STEP_COUNT_HELP = ("How many training steps one press of Step runs while the run is paused. D step and G step "
                   "always run one: they are for watching one network move at a time.")
SPEED_HELP = ("At most this many training steps a second, for this server's runs (every tab, this run and the "
              "next): 0.5 or 1 is slow motion, to watch the playground's surface and points move step by step. "
              "'no limit' trains as fast as the machine goes, and costs nothing.")

PLAYGROUND_GUIDE = (
    "**Reading the playground.** The background is D's verdict at each point of the plane: green where D "
    "says real, purple where it says fake, the black line where it cannot tell (0.5). Green dots are real "
    "data, purple dots G's samples; each arrow shows where G's loss pushes that sample. With a 2D latent "
    "the grey mesh is G's whole map from z to the plane. **Try:** switch the loss to minimax and Apply: "
    "where D confidently rejects the fakes the arrows shrink (the seed post's saturation). On toy-ring, start "
    "with D's learning rate 0.01 and G's 0.0001 and watch the ring collapse onto one or two modes. Pause, "
    "then D step and G step: the surface moves first, then the fakes follow it."
)

LIVE_NOTE = "Live: can change mid-run (Apply)."


def setting_help(field: str) -> str:
    """A setting's help: its docstring in the config schema, and whether it can change during a run."""
    text = field_help().get(field, "")
    return f"{text} {LIVE_NOTE}".strip() if field in LIVE_FIELDS else text


# The sidebar's "Upload your images" (form/upload.py), one entry per widget.
UPLOAD_HELP: dict[str, str] = {
    "files": "One .zip archive (a folder per class inside it becomes the labels), or several image files. "
             "Unpacked into the runs folder's data/ folder; links, paths leaving the archive's folder and "
             "oversized images are refused, unreadable and non-image files are skipped and counted.",
    "name": "The new data set's folder name under data/: letters, digits, '-' and '_'.",
    "size": "Each image is centre-cropped to a square and resized to this side (the Image size field).",
    "channels": "RGB keeps colour (3 channels); grayscale stores 1 channel (the Channels field).",
    "replace": "Overwrite the data set of this name; without it an existing name is refused.",
    "import": "Unpack, check and resize the images, then point Image folder at them.",
}


def render_intro(status: str) -> None:
    """The newcomer's paragraph, until this tab's first Start (or while no run has ever started)."""
    if status == "idle" and not st.session_state.get(INTRO_DONE_KEY):
        st.info(INTRO, icon=":material/school:")


def intro_done() -> None:
    """Called on Start: the intro has done its job."""
    st.session_state[INTRO_DONE_KEY] = True


def render_settings_reference(container, labels: dict[str, str]) -> None:
    """Every setting with its dotted name and help, in an expander built only while open (a closed one costs
    nothing on the sidebar's reruns)."""
    box = container.expander("What each setting does", expanded=False, on_change="rerun", key="guide.settings.open")
    if not box.open:
        return
    with box:
        st.markdown("\n".join(f"- **{plain(label)}** ({plain(field)}): {plain(setting_help(field), limit=2000)}"
                               for field, label in labels.items()))
