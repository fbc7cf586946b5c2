"""Sample quality in the feature space of a small classifier the project trains itself (no downloads).

FID, class coverage, and precision/recall (Kynkaenniemi et al. 2019) are computed on the
classifier's 128-d penultimate features; the real set's own scores are the reference floor.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gan_core.config.schema import DataConfig
from gan_core.data.datasets import ImageDataset, load_dataset
from gan_core.quality.evaluator_cache import CacheError, read_cache, set_aside
from gan_core.runs.checkpoint import atomic_save

CODE_VERSION = 2  # bump when the classifier or its training changes: old caches are ignored
FEATURE_DIM = 128
COVERAGE_MIN_SHARE = 0.02
PR_NEIGHBOURS = 3
MIN_EVALUATION_IMAGES = 20  # the reference splits the set in halves, each needing > PR_NEIGHBOURS points


class EvaluationUnavailable(ValueError):
    """Quality cannot be measured for this data (e.g. unlabelled images of another shape)."""


class FeatureClassifier(nn.Module):
    """Two conv blocks -> 128-d features -> class logits; small enough to train in seconds on a CPU."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten(),
            nn.Linear(64 * 16, FEATURE_DIM), nn.ReLU())
        self.head = nn.Linear(FEATURE_DIM, num_classes)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, C, H, W) -> (features (B, 128), logits (B, classes))."""
        features = self.body(images)
        return features, self.head(features)


def default_cache_dir() -> Path:
    """$GAN_WORKBENCH_CACHE, else ~/.cache/gan_workbench (never the repository)."""
    return Path(os.environ.get("GAN_WORKBENCH_CACHE", Path.home() / ".cache" / "gan_workbench"))


def _cache_key(config: DataConfig) -> str:
    fields = {k: getattr(config, k) for k in ("name", "root", "path", "image_size", "channels", "limit")}
    if config.name == "folder":  # the same path may hold other images later (an upload replaced, files edited)
        fields["listing"] = _folder_listing(config.path)
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:12]
    return f"evaluator-{config.name}-{digest}-v{CODE_VERSION}.pt"


def _folder_listing(path: str) -> str:
    """A digest of a folder's files (relative path, size, modification time): it changes when the images do."""
    root = Path(path).expanduser()
    entries = []
    try:
        for file in sorted(root.rglob("*")):
            if file.is_file():
                info = file.stat()
                entries.append(f"{file.relative_to(root)}:{info.st_size}:{info.st_mtime_ns}")
    except OSError:
        return "unreadable"
    return hashlib.sha256("\n".join(entries).encode()).hexdigest()[:16]


@dataclass
class Evaluator:
    """A trained feature classifier plus the real set's cached features and statistics."""

    classifier: FeatureClassifier
    real_features: torch.Tensor  # (N, 128) float64
    num_classes: int
    accuracy: float
    trained_now: bool
    train_seconds: float
    _real_radii: torch.Tensor | None = None
    _reference: dict[str, Any] | None = None

    @classmethod
    def for_data(cls, config: DataConfig, cache_dir: Path | None = None, dataset: ImageDataset | None = None,
                 on_notice: Callable[[str], None] | None = None) -> "Evaluator":
        """Load the cached evaluator for this data set, or train it (seeded) and cache it.

        A bad cache file is set aside and rebuilt; on_notice gets the one line that says so (default: stderr).
        """
        dataset = dataset if dataset is not None else load_dataset(config)
        if dataset.labels is None:
            raise EvaluationUnavailable(
                f"data set {config.name} has no labels: class coverage is unavailable, and FID/precision/"
                "recall need a classifier of the same image shape; use a labelled set (mnist5k, digits, "
                "a folder with class subfolders) to measure quality")
        if len(dataset) < MIN_EVALUATION_IMAGES:
            raise EvaluationUnavailable(
                f"data set {config.name} has {len(dataset)} images: quality scores need at least "
                f"{MIN_EVALUATION_IMAGES} labelled images")
        notice = on_notice or _to_stderr
        cached = cached_evaluator(config, dataset, cache_dir, notice)
        if cached is not None:
            return cached
        path = cached_evaluator_path(config, cache_dir)
        started = time.perf_counter()
        classifier, accuracy, num_classes = _train_classifier(dataset)
        evaluator = cls(classifier, torch.empty(0), num_classes, accuracy, True, 0.0)
        evaluator.real_features = evaluator.features(dataset.images)
        reference = evaluator.reference(dataset.images)
        evaluator.train_seconds = time.perf_counter() - started
        try:
            atomic_save({"classifier": classifier.state_dict(), "real_features": evaluator.real_features,
                         "num_classes": num_classes, "accuracy": accuracy, "code_version": CODE_VERSION,
                         "reference": json.dumps(reference)}, path)
        except OSError as error:  # a full disk or a read-only cache folder: measured now, trained again next time
            notice(f"the evaluator could not be cached in {path.parent} ({error.strerror or error}); it is "
                   "trained again next time")
        return evaluator

    def _run(self, images: torch.Tensor, batch_size: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
        features, probabilities = [], []
        with torch.inference_mode():
            for start in range(0, images.shape[0], batch_size):
                f, logits = self.classifier(images[start: start + batch_size].float().cpu())
                features.append(f.double())
                probabilities.append(F.softmax(logits.double(), dim=1))
        return torch.cat(features), torch.cat(probabilities)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) in [-1, 1] -> (N, 128) float64 features."""
        return self._run(images)[0]

    def score(self, images: torch.Tensor) -> dict[str, Any]:
        """FID, coverage and precision/recall of generated images against the real set."""
        features, probabilities = self._run(images)
        return {"n": int(images.shape[0]), "fid": fid(features, self.real_features),
                **coverage(probabilities.argmax(dim=1), self.num_classes),
                **precision_recall(self.real_features, features, self.real_radii()),
                "diversity": mean_pairwise_distance(features)}

    def conditional_scores(self, images: torch.Tensor, requested: torch.Tensor,
                           real_labels: torch.Tensor) -> dict[str, Any]:
        """A conditional generator's class fidelity: images (N, C, H, W) made for classes `requested` (N,).

        conditional_accuracy: the share the classifier assigns to the requested class (chance: 1 / K);
        per_class_accuracy and per_class_fid (class k's samples against the real images labelled k,
        NaN where either side has fewer than 2) list one value per class.
        """
        features, probabilities = self._run(images)
        predicted, requested = probabilities.argmax(dim=1), requested.long().cpu()
        real_labels = real_labels.long().cpu()
        per_class_fid, per_class_accuracy = [], []
        for k in range(self.num_classes):
            mine, real = requested == k, real_labels == k
            hits = (predicted[mine] == k).double()
            per_class_accuracy.append(round(float(hits.mean()), 4) if hits.numel() else float("nan"))
            enough = int(mine.sum()) >= 2 and int(real.sum()) >= 2
            per_class_fid.append(fid(features[mine], self.real_features[real]) if enough else float("nan"))
        return {"conditional_accuracy": float((predicted == requested).double().mean()),
                "per_class_accuracy": per_class_accuracy, "per_class_fid": per_class_fid}

    def real_radii(self) -> torch.Tensor:
        """Each real feature's distance to its k-th nearest real neighbour, computed once."""
        if self._real_radii is None:
            self._real_radii = knn_radii(self.real_features)
        return self._real_radii

    def reference(self, images: torch.Tensor) -> dict[str, Any]:
        """The real data's own scores (the floor): FID and precision/recall of one half against the other.

        Computed once per data set and cached with the classifier.
        """
        if self._reference is not None:
            return self._reference
        generator = torch.Generator().manual_seed(0)
        order = torch.randperm(images.shape[0], generator=generator)
        half = images.shape[0] // 2
        first, second = self.features(images[order[:half]]), self.features(images[order[half:]])
        _, probabilities = self._run(images)
        self._reference = {"n": half, "fid": fid(first, second),
                           **coverage(probabilities.argmax(dim=1), self.num_classes),
                           **precision_recall(second, first), "diversity": mean_pairwise_distance(first)}
        return self._reference


def conditional_inputs(count: int, num_classes: int, latent_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed-seed inputs for scoring a conditional generator: count // K per class (at least 1), class k's
    i-th sample from seed i, so each class is drawn from the same z: (z (M, latent_dim), labels (M,))."""
    from gan_core.views.latent import zs_from_seeds

    per_class = max(1, count // num_classes)
    z = zs_from_seeds(range(per_class), latent_dim).repeat(num_classes, 1)  # (K * per_class, latent_dim)
    return z, torch.arange(num_classes).repeat_interleave(per_class)


def _train_classifier(dataset: ImageDataset, epochs: int = 4, seed: int = 0) -> tuple[FeatureClassifier, float, int]:
    """Seeded training on 90% of the labelled set; returns (classifier, held-out accuracy, classes)."""
    images, labels = dataset.images.float(), dataset.labels.long()
    num_classes = int(labels.max()) + 1
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        classifier = FeatureClassifier(images.shape[1], num_classes)
        order = torch.randperm(len(labels))
        held_out = max(1, len(labels) // 10)
        test, train = order[:held_out], order[held_out:]
        optimizer = torch.optim.Adam(classifier.parameters(), lr=2e-3)
        for _ in range(epochs):
            for batch in train[torch.randperm(len(train))].split(128):
                _, logits = classifier(images[batch])
                loss = F.cross_entropy(logits, labels[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
    classifier.eval()
    with torch.inference_mode():
        predictions = classifier(images[test])[1].argmax(dim=1)
    return classifier, float((predictions == labels[test]).float().mean()), num_classes


def fid(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (N, D) in float64."""
    a, b = features_a.double().numpy(), features_b.double().numpy()
    mu_a, mu_b = a.mean(0), b.mean(0)
    sigma_a, sigma_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # Tr sqrt(Sa Sb) = Tr sqrt(Sa^1/2 Sb Sa^1/2), a symmetric PSD matrix: eigh is stable here.
    values, vectors = np.linalg.eigh(sigma_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = np.linalg.eigvalsh(root_a @ sigma_b @ root_a)
    trace_root = np.sqrt(np.clip(middle, 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(sigma_a) + np.trace(sigma_b) - 2 * trace_root)


def coverage(predicted: torch.Tensor, num_classes: int) -> dict[str, Any]:
    """Share of samples per predicted class, classes with >= 2%, and KL(shares || uniform)."""
    shares = torch.bincount(predicted, minlength=num_classes).double() / max(1, predicted.numel())
    nonzero = shares[shares > 0]
    kl = float((nonzero * torch.log(nonzero * num_classes)).sum())
    return {"class_shares": [round(float(s), 4) for s in shares],
            "classes_covered": int((shares >= COVERAGE_MIN_SHARE).sum()), "kl_uniform": kl}


def knn_radii(features: torch.Tensor, k: int = PR_NEIGHBOURS) -> torch.Tensor:
    """Distance from each row to its k-th nearest other row: (N,)."""
    return torch.cdist(features, features).kthvalue(k + 1, dim=1).values  # +1 skips the point itself


def precision_recall(real: torch.Tensor, fake: torch.Tensor, real_radii: torch.Tensor | None = None,
                     k: int = PR_NEIGHBOURS) -> dict[str, float]:
    """Kynkaenniemi et al.: precision = share of fakes inside some real k-NN ball; recall, the reverse."""
    def inside(reference: torch.Tensor, radii: torch.Tensor, query: torch.Tensor) -> float:
        return float((torch.cdist(query, reference) <= radii.unsqueeze(0)).any(dim=1).double().mean())

    real_radii = knn_radii(real, k) if real_radii is None else real_radii
    return {"precision": inside(real, real_radii, fake), "recall": inside(fake, knn_radii(fake, k), real)}


def mean_pairwise_distance(features: torch.Tensor) -> float:
    """Mean distance between distinct samples: low when the generator repeats itself."""
    if features.shape[0] < 2:
        return 0.0
    distances = torch.cdist(features, features)
    count = features.shape[0]
    return float(distances.sum() / (count * (count - 1)))


def cached_evaluator_path(config: DataConfig, cache_dir: Path | None = None) -> Path:
    """Where Evaluator.for_data keeps (or will keep) this data set's trained classifier."""
    return (cache_dir or default_cache_dir()) / _cache_key(config)


def cached_evaluator(config: DataConfig, dataset: ImageDataset, cache_dir: Path | None = None,
                     on_notice: Callable[[str], None] | None = None) -> Evaluator | None:
    """This labelled data set's cached evaluator, vetted like a checkpoint (gan_core/quality/evaluator_cache.py); None
    when there is none, or when the file was bad: it is then set aside and on_notice (default: stderr) told."""
    path = cached_evaluator_path(config, cache_dir)
    if dataset.labels is None or len(dataset) < MIN_EVALUATION_IMAGES or not (path.exists() or path.is_symlink()):
        return None
    channels, num_classes = dataset.image_shape[0], int(dataset.labels.max()) + 1
    classifier = FeatureClassifier(channels, num_classes)
    try:
        state = read_cache(path, len(dataset), FEATURE_DIM, num_classes, CODE_VERSION, classifier.state_dict())
    except CacheError as error:
        (on_notice or _to_stderr)(set_aside(path, str(error)))
        return None
    classifier.load_state_dict(state["classifier"])
    return Evaluator(classifier.eval(), state["real_features"], num_classes, state["accuracy"], trained_now=False,
                     train_seconds=0.0, _reference=json.loads(state["reference"]))


def _to_stderr(line: str) -> None:
    """The default notice: one line on stderr (the CLI's, or the server's log)."""
    sys.stderr.write(f"note: {line}\n")


def prepare_in_subprocess(config: DataConfig) -> subprocess.Popen:
    """Train and cache the evaluator in a low-priority child process, so a training thread never waits for it."""
    # The child never downloads: it sees the data the caller has already loaded from disk.
    data = json.dumps(dataclasses.asdict(dataclasses.replace(config, download=False)))
    code = "import sys; from gan_core.quality.evaluator import _prepare_main; _prepare_main(sys.argv[1])"
    return subprocess.Popen([sys.executable, "-c", code, data], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env={**os.environ, "OMP_NUM_THREADS": "1"})


def _prepare_main(data_json: str) -> None:
    """Child process entry: lowest CPU priority, one thread, train and cache the evaluator."""
    os.nice(19)
    torch.set_num_threads(1)
    try:
        Evaluator.for_data(DataConfig(**json.loads(data_json)))
    except ValueError as error:  # EvaluationUnavailable and data errors: one line for the parent
        raise SystemExit(f"{error}") from None
