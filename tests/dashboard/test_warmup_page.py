"""Nothing heavy on the page thread per edit: the page warms the engine up for its config off its own thread,
keyed by what builds the models, so an edit that changes nothing there starts no warm-up (#26 item 5)."""

from __future__ import annotations

import threading

import pytest
from streamlit.testing.v1 import AppTest

from gan_core.control import warmup
from gan_core.engine.trainer import Trainer
from tests.support.pages import APP

pytestmark = [pytest.mark.apptest, pytest.mark.timeout(300)]


def _join_warmups(timeout: float = 120.0) -> None:
    for thread in threading.enumerate():
        if thread.name == "gan-warmup":
            thread.join(timeout)


def test_an_edit_that_builds_nothing_new_starts_no_warm_up_and_the_page_builds_no_trainer(runs_root, monkeypatch):
    started: list[tuple] = []  # the key of each warm-up started
    built_on: list[str] = []  # the thread that built each Trainer
    real_warm_up, real_init = warmup.warm_up, Trainer.__init__

    def counting_warm_up(config, dataset):
        began = real_warm_up(config, dataset)
        if began:
            started.append(warmup.warmup_key(config))
        return began

    def spying_init(self, *args, **kwargs):
        built_on.append(threading.current_thread().name)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(warmup, "_started", set())  # this process's earlier warm-ups do not count
    monkeypatch.setattr(warmup, "warm_up", counting_warm_up)
    monkeypatch.setattr(Trainer, "__init__", spying_init)
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception and len(started) == 1  # the default config, warmed once
    _join_warmups()
    # Live fields, the loss and the logging cadence build nothing: no warm-up, no Trainer anywhere.
    at.number_input(key="cfg.optimizer.lr_g").set_value(1e-3).run()
    at.selectbox(key="cfg.loss.loss").set_value("hinge").run()
    at.number_input(key="cfg.training.sample_every").set_value(50).run()
    assert not at.exception and len(started) == 1 and len(built_on) == 1
    # What builds the models starts one warm-up each, in the background.
    at.number_input(key="cfg.model.latent_dim").set_value(32).run()
    at.number_input(key="cfg.training.seed").set_value(7).run()  # the default is self-conditioned: k-means uses it
    _join_warmups()
    assert len(started) == 3 and len(set(started)) == 3
    assert built_on == ["gan-warmup"] * 3  # the page's own thread built no Trainer
