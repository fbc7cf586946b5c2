"""Column names of a run's tables (metrics.csv, quality.csv), below every module that writes or reads them."""

from __future__ import annotations

# One metrics row per logged step; the dashboard, the CSV and the CLI all use these names.
METRIC_NAMES = ("step", "epoch", "time_s", "d_loss", "g_loss", "d_real", "d_fake", "d_fake_after",
                "grad_norm_d", "grad_norm_g", "lr_d", "lr_g", "images_per_s", "wall_time",
                # ADA's overfitting signal r_t = E[sign D(x_real)] and the augmentation probability in use (0: off);
                # the spread (std) of D's scores on fakes, a cheap per-step sign of collapse (all fakes alike).
                "overfit_r", "augment_p", "d_fake_std")

# One quality row per live evaluation (quality.csv); conditional_accuracy: the share of a conditional run's
# samples the classifier puts in their requested class (NaN for an unconditional run).
QUALITY_COLUMNS = ("step", "fid", "classes_covered", "kl_uniform", "precision", "recall", "diversity",
                   "conditional_accuracy", "eval_s")

# One quality row per live evaluation of a 2D toy run (gan_core/quality/toy_metrics.py; NaN where a set has no modes).
TOY_QUALITY_COLUMNS = ("step", "modes_covered", "modes_total", "high_quality_share", "kl", "js", "eval_s")
