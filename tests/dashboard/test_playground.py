"""The playground's frame: computed from model copies, sent compactly, real points once per run."""

from __future__ import annotations

import base64

import numpy as np
import torch

from dashboard.live.frames import compute_views, fixed_noise, playground_message
from gan_core.views.point_plot import view_bounds
from gan_core.data.toys import make_toy
from gan_core.nets.point_models import PointDiscriminator, PointGenerator


def _views(run: str = "runs/a", latent: int = 2):
    torch.manual_seed(0)
    real = make_toy("ring8", 2000, seed=0).points
    return compute_views(run, 7, PointGenerator(latent, 16, 2), PointDiscriminator(16, 2), real,
                         fixed_noise(latent), "non_saturating", view_bounds(real))


def test_bounds_are_a_square_around_the_data_with_a_margin():
    x0, y0, x1, y1 = view_bounds(torch.tensor([[-1.0, 0.0], [3.0, 1.0]]))
    assert x1 - x0 == y1 - y0 and x0 < -1 and x1 > 3 and (x0 + x1) / 2 == 1.0 and (y0 + y1) / 2 == 0.5


def test_a_frame_has_every_layer_and_the_mesh_only_for_a_2d_latent():
    views = _views()
    assert views.fake.shape == (256, 2) and views.arrows.shape == (256, 2) and views.real.shape == (1000, 2)
    assert views.surface.shape == (64, 64) and 0 <= views.surface.min() and views.surface.max() <= 1
    assert views.mesh.shape == (21, 21, 2)
    assert _views(latent=8).mesh is None


def test_message_sends_real_points_once_per_run_and_the_surface_as_bytes():
    views = _views()
    first, sent = playground_message(views, {})
    assert "real" in first and first["seq"] == 1 and first["cells"] == 64 and first["lines"] == 21
    surface = np.frombuffer(base64.b64decode(first["surface"]), dtype=np.uint8).reshape(64, 64)
    assert np.abs(surface / 255 - views.surface).max() <= 0.5 / 255 + 1e-6
    fake = np.frombuffer(base64.b64decode(first["fake"]), dtype=np.float32).reshape(-1, 2)
    assert np.array_equal(fake, views.fake)
    second, sent = playground_message(views, sent)
    assert "real" not in second and second["seq"] == 2
    third, _ = playground_message(_views(run="runs/b"), sent)
    assert "real" in third  # a new run: its real points
