"""DNS rebinding, in a real browser: a page under a name that resolves to 127.0.0.1 gets no dashboard.

Chromium's --host-resolver-rules maps evil.example to 127.0.0.1, as an attacker's DNS would after rebinding:
the browser then treats http://evil.example:PORT/ as that site's own origin, with the dashboard behind it.
"""

from __future__ import annotations

import pytest

from tests.support.browser import STARTS, launch_browser, require_chromium, streamlit_process

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
EVIL = "evil.example"
REBIND = (f"--host-resolver-rules=MAP {EVIL} 127.0.0.1",)
# From the page's own origin: the live feed's status (HTTP status) and whether Streamlit's WebSocket opens.
FEED_JS = "() => fetch('/_gw/live/status').then(r => r.status)"
SOCKET_JS = """() => new Promise(done => {
    const socket = new WebSocket(location.origin.replace('http', 'ws') + '/_stcore/stream');
    socket.onopen = () => { socket.close(); done('open'); };
    socket.onerror = () => done('refused');
    setTimeout(() => done('timeout'), 15000);
})"""


def _start_button(page):
    return page.get_by_role("button", name="Start", exact=True)


@pytest.mark.parametrize("start", STARTS)
def test_a_rebound_name_gets_no_controls_while_127_0_0_1_works(tmp_path, start):
    """Started either way (the launcher, or a plain `streamlit run dashboard/app.py`), the page is app.py's App:
    403 for the page, its WebSocket and the feed under a rebound name; 127.0.0.1 works."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with streamlit_process(tmp_path / "runs", start=start) as (url, _), sync_playwright() as playwright:
        port = url.rsplit(":", 1)[1]
        browser = launch_browser(playwright, REBIND)
        local = browser.new_page()
        local.goto(url)
        _start_button(local).wait_for(timeout=90_000)  # (b) through 127.0.0.1 the dashboard works
        assert local.evaluate(FEED_JS) == 200
        assert local.evaluate(SOCKET_JS) == "open"

        evil = browser.new_page()
        response = evil.goto(f"http://{EVIL}:{port}/")
        assert response.status == 403
        assert evil.locator("body").inner_text().startswith(f"host {EVIL} is not allowed")
        assert evil.evaluate(FEED_JS) == 403
        assert evil.evaluate(SOCKET_JS) == "refused"
        assert _start_button(evil).count() == 0 and evil.get_by_role("button").count() == 0
        assert evil.get_by_test_id("stRadioGroup").count() == 0 and evil.get_by_test_id("stSidebar").count() == 0
        assert _start_button(local).count() == 1  # the local tab is untouched
        browser.close()


def test_a_name_the_user_opts_into_is_served_and_others_still_are_not(tmp_path):
    """GAN_WORKBENCH_ALLOW_REMOTE=1 with GAN_WORKBENCH_ALLOWED_HOSTS (what --allowed-host sets): that name gets
    the dashboard; a rebound name still gets 403."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    named = "gpu-box.test"
    env = {"GAN_WORKBENCH_ALLOW_REMOTE": "1", "GAN_WORKBENCH_ALLOWED_HOSTS": named}
    rules = (f"--host-resolver-rules=MAP {EVIL} 127.0.0.1, MAP {named} 127.0.0.1",)
    with streamlit_process(tmp_path / "runs", env) as (url, _), sync_playwright() as playwright:
        port = url.rsplit(":", 1)[1]
        browser = launch_browser(playwright, rules)
        page = browser.new_page()
        page.goto(f"http://{named}:{port}/")
        _start_button(page).wait_for(timeout=90_000)
        assert page.evaluate(FEED_JS) == 200 and page.evaluate(SOCKET_JS) == "open"
        evil = browser.new_page()
        assert evil.goto(f"http://{EVIL}:{port}/").status == 403
        browser.close()
