"""A self-conditioned generator's walks (#27 item 7): the page says why a walk jumps between clusters (G picks
its cluster from z's first coordinate) where the walk is drawn, and offers a walk that keeps the cluster."""

from __future__ import annotations

import re

import pytest

from tests.support.pages import open_in_explorer
from tests.support.runs import train_tiny_run

pytestmark = [pytest.mark.apptest, pytest.mark.timeout(300)]


def _walk_clusters(at) -> list[int]:
    """The clusters of the strip's frames, as its caption names them."""
    captions = [c for image in at.image for c in image.captions if "steps from seed" in c]
    assert len(captions) == 1, captions
    found = re.search(r"clusters ([\d ]+)", captions[0])
    assert found, captions[0]
    return [int(word) for word in found.group(1).split()]


def test_a_self_conditioned_walk_says_why_it_jumps_and_can_keep_its_cluster(runs_root, tmp_path):
    at = open_in_explorer(train_tiny_run(tmp_path / "clusters", "model.clusters=5"))
    at.number_input(key="explore.from").set_value(3)
    at.number_input(key="explore.to").set_value(4)
    at.radio(key="explore.method").set_value("lerp")
    at.number_input(key="explore.steps").set_value(12).run()
    assert not at.exception
    notes = " ".join(e.value for kind in ("caption", "info", "markdown") for e in getattr(at, kind))
    assert "first coordinate" in notes and "cluster" in notes, notes
    jumping = _walk_clusters(at)
    assert len(jumping) == 12 and len(set(jumping)) > 1  # seeds 3 and 4 lie in different clusters
    at.checkbox(key="explore.keep_cluster").check().run()
    assert not at.exception
    kept = _walk_clusters(at)
    assert kept == [jumping[0]] * 12  # the start's cluster all the way


@pytest.mark.parametrize("settings", [(), ("model.conditional=true", "data.name=digits")])
def test_walks_of_other_generators_offer_no_cluster_walk(runs_root, tmp_path, settings):
    at = open_in_explorer(train_tiny_run(tmp_path / "plain", *settings))
    assert "explore.keep_cluster" not in [box.key for box in at.checkbox]
