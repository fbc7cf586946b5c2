"""Live evaluation inside a run: score fixed-seed samples every N steps within a time budget,
append the scores to quality.csv, keep checkpoints/best.pt by FID, feed the health monitor."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from gan_core.columns import QUALITY_COLUMNS
from gan_core.engine.trainer import Trainer
from gan_core.files import write_atomic
from gan_core.quality.evaluator import (EvaluationUnavailable, Evaluator, cached_evaluator, conditional_inputs,
                                        prepare_in_subprocess)
from gan_core.record.quality_record import QualityRecord
from gan_core.runs.paths import RunPaths
from gan_core.views.latent import generate, zs_from_seeds


class LiveEvaluation(QualityRecord):
    """Decides when to evaluate, scores, writes quality.csv and best.pt (by FID); never more than ~10% of the time."""

    def __init__(self, trainer: Trainer, run_root: Path, every: int, samples: int,
                 background: bool = False) -> None:
        super().__init__(trainer, run_root, QUALITY_COLUMNS, "fid")
        self.every, self.samples = every, samples
        self.background = background  # train a missing classifier in a child process, not in this thread
        self.reference_path = RunPaths(run_root).quality_reference
        self.evaluator: Evaluator | None = None
        self.reference: dict[str, Any] | None = None
        self.unavailable: str | None = None
        self.notes: list[str] = []  # a bad evaluator cache set aside and rebuilt: one line each, for the run's events
        self._child = None  # the subprocess training the classifier, while it runs

    @property
    def prepared(self) -> bool:
        """True once the evaluator is loaded (the first evaluation may train or load it)."""
        return self.evaluator is not None

    @property
    def preparing(self) -> bool:
        """True while the classifier trains in a child process (the first evaluation on this machine)."""
        return self._child is not None and self._child.poll() is None

    def due(self) -> bool:
        """On the schedule (see scheduled), unless the last evaluation's cost would exceed 10% of the training
        since, or the classifier is still being trained in the background."""
        if not self.every or self.unavailable or not self.scheduled(self.trainer.step_count):
            return False
        if not self._ready():
            return False
        if self.unavailable:
            return True  # the child failed: evaluate() reports why, once
        return self.within_budget()

    def scheduled(self, step: int) -> bool:
        """Dense early, then every `every` steps: every every/5 steps up to step 2 * every (a collapse shows in
        the first few hundred steps), then every `every`. The 10% budget still decides whether one runs."""
        early = max(1, self.every // 5)
        return step % self.every == 0 or (step <= 2 * self.every and step % early == 0)

    def _ready(self) -> bool:
        """Whether prepare() can run now without training a classifier in this thread."""
        if self.evaluator is not None or not self.background:
            return True
        data = self.trainer.config.data
        if self._child is None:
            if self.trainer.dataset.labels is None \
                    or cached_evaluator(data, self.trainer.dataset, on_notice=self.notes.append) is not None:
                return True  # prepare() reports the missing labels, or loads the (vetted) cache in milliseconds
            self._child = prepare_in_subprocess(data)
            return False
        if self._child.poll() is None:
            return False
        if self._child.returncode != 0:
            lines = self._child.stderr.read().decode("utf-8", "replace").strip().splitlines()
            self.unavailable = f"the quality classifier could not be trained: {lines[-1] if lines else 'no message'}"
        self._child.stderr.close()
        self._child = None
        return True

    def prepare(self) -> dict[str, Any] | None:
        """Load (or train once and cache) the evaluator and the real data's reference scores."""
        if self.evaluator is None and not self.unavailable:
            data = self.trainer.dataset
            try:
                self.evaluator = Evaluator.for_data(self.trainer.config.data, dataset=data,
                                                    on_notice=self.notes.append)
            except EvaluationUnavailable as error:
                self.unavailable = str(error)
                return None
            self.reference = self.evaluator.reference(data.images)
            # The floor the dashboard draws under the FID curve, beside quality.csv.
            write_atomic(self.reference_path, json.dumps({**self.reference, "accuracy": self.evaluator.accuracy}))
        return self.reference

    def take_notes(self) -> list[str]:
        """The notes since the last call (a bad evaluator cache set aside and rebuilt), oldest first."""
        notes, self.notes = self.notes, []
        return notes

    def evaluate(self) -> dict[str, Any] | None:
        """Score the fixed-seed samples now; returns the quality row (None when unavailable)."""
        try:
            if self.prepare() is None:
                return None
            started = time.perf_counter()  # the one-off preparation is not part of the per-evaluation cost
            config, trainer = self.trainer.config, self.trainer
            if trainer.num_classes:  # balanced classes, the same seeds per class every time
                z, labels = conditional_inputs(self.samples, trainer.num_classes, config.model.latent_dim)
                images = generate(trainer.sampling_generator(), z, labels=labels)
                scores = self.evaluator.score(images)
                scores["conditional_accuracy"] = self.evaluator.conditional_scores(
                    images, labels, trainer.dataset.labels)["conditional_accuracy"]
            else:
                z = zs_from_seeds(range(self.samples), config.model.latent_dim)  # the same seeds every time
                scores = {**self.evaluator.score(generate(trainer.sampling_generator(), z)),
                          "conditional_accuracy": float("nan")}
        except (RuntimeError, ValueError, ArithmeticError, np.linalg.LinAlgError) as error:
            # Scoring is an extra: a data set it cannot handle must not kill (or re-kill) the run.
            self.unavailable = f"quality evaluation failed: {type(error).__name__}: {str(error).splitlines()[0][:200]}"
            return None
        row = {"step": self.trainer.step_count, **{k: scores[k] for k in QUALITY_COLUMNS[1:-1]}}
        return self.keep(row, started)
