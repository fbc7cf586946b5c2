"""Words for a newcomer: the intro paragraph shown until the first Start, and help text for every setting."""

from __future__ import annotations

import streamlit as st

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
STEP_COUNT_HELP = "How many training steps one press of Step runs while the run is paused."

PLAYGROUND_GUIDE = (
    "**Reading the playground.** The background is D's verdict at each point of the plane: green where D "
    "says real, purple where it says fake, the black line where it cannot tell (0.5). Green dots are real "
    "data, purple dots G's samples; each arrow shows where G's loss pushes that sample. With a 2D latent "
    "the grey mesh is G's whole map from z to the plane. **Try:** switch the loss to minimax and Apply: "
    "where D confidently rejects the fakes the arrows shrink (the seed post's saturation). On toy-ring, start "
    "with D's learning rate 0.01 and G's 0.0001 and watch the ring collapse onto one or two modes. Pause, "
    "then D step and G step: the surface moves first, then the fakes follow it."
)

FIELD_HELP: dict[str, str] = {
    "model.conditional": "Class-conditional GAN for labelled data: G gets the class as a learned embedding, D a "
                         "projection term (Miyato & Koyama 2018), so you can ask for a class. Training draws "
                         "classes in the data's shares; grids show one row per class.",
    "loss.mode_seeking": "MSGAN's diversity term (Mao et al. 2019): G's loss gains weight / (image distance / "
                         "noise distance) over pairs of fakes, the batch's two halves, that share a class or "
                         "cluster. It penalises G for drawing different z alike, so a conditioned G keeps "
                         "its variety. Too high and samples turn noisy. 0 = off; from 0 to 10.",
    "model.clusters": "Self-conditioning (Liu et al. 2020), for any images, labelled or not: k-means sorts the "
                      "training images into this many clusters, D learns each cluster's look (a projection "
                      "term) and G reads its cluster off z's first number, so every cluster gets drawn at its "
                      "share of the data. It keeps G from dropping rarer styles; the default uses 50 (a small set "
                      "gets one per 20 images, and none under 40). A walk in "
                      "z jumps from one cluster to the next. 0 = off; not with Class-conditional.",
    "data.name": "Which images to learn: mnist5k ships with the app (5,000 digits, offline); digits is "
                 "scikit-learn's 8x8 digits; mnist, fashion-mnist and cifar10 need torchvision's files; "
                 "folder reads your own png/jpg images. The 2D sets (ring8, grid25, two-moons, spiral, "
                 "gaussian, drawn) train point GANs shown in the playground: D's surface, G's arrows.",
    "data.points": "Your own 2D distribution: press Draw points on the playground's canvas, click or drag "
                   "to spray points, then Use drawn points. Kept in the run's config.json.",
    "data.root": "Folder holding (or receiving) torchvision's data files for mnist, fashion-mnist and cifar10.",
    "data.download": "Let torchvision download the data set into the root folder. Needs internet; off by default.",
    "data.path": "Folder of your own png/jpg images (optionally one subfolder per class, which become the "
                 "labels). Upload your images below fills it in.",
    "data.image_size": "Side of the square training images in pixels. 0 keeps the data set's own size "
                       "(folder: 64). DCGAN supports 8 to 128.",
    "data.channels": "1 trains in grayscale, 3 in colour; 0 keeps the data set's own channels.",
    "data.limit": "Train on the first N images only (quick experiments); 0 uses them all. 2D sets: how many "
                  "points to draw from the distribution (0 = 8,192).",
    "model.architecture": "mlp is the blog post's fully connected pair; dcgan is convolutional, usually "
                          "better and cheaper per image.",
    "model.latent_dim": "Length of the noise vector z the generator turns into an image.",
    "model.hidden_dim": "MLP only: width of each hidden layer in G and D.",
    "model.depth": "MLP only: number of hidden layers in G and in D.",
    "model.base_channels": "DCGAN only: channels next to the image, doubled at each lower resolution. "
                           "More channels: more capacity, slower steps.",
    "model.discriminator_norm": "Normalisation inside D: none, batch (DCGAN's BatchNorm) or spectral "
                                "(spectral norm, keeps D from winning outright).",
    "loss.loss": "The pair of objectives. non_saturating trains G with -log D(G(z)) (strong gradients "
                 "early on); minimax is the original log(1 - D(G(z))); least_squares and hinge are "
                 "alternatives. Live: can change mid-run.",
    "loss.label_smoothing": "One-sided label smoothing: D's target for real images becomes "
                            "1 - this value (0 to 0.5). Live.",
    "loss.r1_gamma": "R1 gradient penalty on real images (0 to 1000; 0 = off): keeps D's surface flat "
                     "around the data, the stabiliser most image GANs use. Try 0.1 to 10.",
    "loss.r1_interval": "Apply R1 every N steps with its weight times N (1 to 1000): nearly the same pull "
                        "for a fraction of the cost.",
    "optimizer.lr_d": "Adam learning rate of the discriminator, in (0, 1]. Typical: 1e-4 to 5e-4. Live.",
    "optimizer.lr_g": "Adam learning rate of the generator, in (0, 1]. Typical: 1e-4 to 5e-4. Live.",
    "optimizer.beta1": "Adam's first-moment decay for both networks, in [0, 1). GANs often use 0.5. Live.",
    "optimizer.beta2": "Adam's second-moment decay for both networks, in [0, 1). Usually 0.999. Live.",
    "optimizer.d_steps_per_g_step": "Discriminator updates before each generator update (1 to 10). Live.",
    "training.batch_size": "Images per training step (per process under torchrun). Smaller batches give "
                           "more, noisier updates per second.",
    "training.seed": "Seeds weights, noise and batch order: the same seed gives the same run on the CPU.",
    "training.device": "auto uses CUDA when available; cpu or cuda force one.",
    "training.ema_decay": "Keep an exponential moving average of G's weights for samples (e.g. 0.995; "
                          "cleaner digits); 0 turns it off.",
    "training.autocast_bf16": "Run forward passes in bfloat16 (faster on recent GPUs; losses stay float32).",
    "training.compile": "torch.compile G and D: slow first steps, sometimes faster later. Measure first.",
    "training.sample_every": "Steps between the fixed-noise grids saved in the run's samples/ folder.",
    "training.checkpoint_every": "Steps between checkpoints (one is also written when the run stops).",
    "training.eval_every": "Steps between quality evaluations (FID, class coverage, precision/recall), "
                           "using at most 10% of the time; 0 turns them off.",
    "training.eval_samples": "Generated images scored at each quality evaluation (10 to 10,000).",
    "training.augment": "Differentiable augmentation (DiffAugment / ADA) for small data sets: real and fake "
                        "images alike are shifted, cut out and recoloured before D sees them, so D cannot "
                        "memorise the few real images; G's gradient flows through. fixed uses p below; "
                        "adaptive tunes p from D's overfitting signal r_t. Charted with r_t.",
    "training.augment_p": "fixed: the chance each op hits each image (0.25 is a common start); adaptive: p at step 0.",
    "training.augment_target": "adaptive: the r_t = E[sign D(x_real)] that p is tuned to hold (ADA uses 0.6); "
                               "above it D is too sure of the reals and p rises.",
}


# The sidebar's "Upload your images" (dashboard/upload.py), one entry per widget.
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
