"""Every HTML page the local runtime serves says its charset, so a client decodes `¥` and Chinese right."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.support import ADMIN_PASSWORD, LocalServer, login
from tests.e2e.test_orders_e2e import TIMEOUT, bearer
from tests.e2e.test_payments_e2e import start, unpaid_order

pytestmark = pytest.mark.xdist_group("e2e")

REDIRECT_URI = "http://localhost:5173/oauth/qq"


@pytest.fixture(scope="module")
def admin(http: requests.Session, base_url: str) -> dict[str, str]:
    return bearer(login(http, base_url, "admin", ADMIN_PASSWORD)["access_token"])


@pytest.mark.parametrize("channel", ["sandbox", "alipay"])
def test_a_payers_cashier_page_says_utf_8_and_shows_the_yuan_sign(
    http: requests.Session,
    base_url: str,
    admin: dict[str, str],
    channel: str,
) -> None:
    # GIVEN an unpaid order and its pay_url
    customer, order_id = unpaid_order(http, base_url, admin)
    pay_url = start(http, base_url, customer, order_id, channel)["pay_url"]

    # WHEN a browser opens the page
    page = http.get(pay_url, timeout=TIMEOUT)

    # THEN its Content-Type names UTF-8, so requests (and browsers) decode it as sent
    assert page.headers["Content-Type"].startswith("text/html")
    assert "charset=utf-8" in page.headers["Content-Type"].lower().replace(" ", "")
    assert "Â" not in page.text


def test_the_oauth_emulators_sign_in_page_says_utf_8(http: requests.Session, base_url: str) -> None:
    # GIVEN an authorize_url of the QQ emulator
    started = http.get(
        f"{base_url}/auth/oauth/qq/authorize", params={"redirect_uri": REDIRECT_URI, "client": "h5"}, timeout=10
    ).json()

    # WHEN the sign-in page itself is opened (no login_as)
    page = http.get(started["authorize_url"], allow_redirects=False, timeout=10)

    # THEN it is HTML in UTF-8
    assert page.status_code == 200, page.text
    assert page.headers["Content-Type"].replace(" ", "").lower() == "text/html;charset=utf-8"


def test_metrics_stay_out_of_the_console_by_default(local_server: LocalServer) -> None:
    # GIVEN the server started and answered requests  WHEN its output is read
    printed = "".join(local_server.output)

    # THEN no metric JSON (CloudWatch EMF) is in it
    assert '"_aws"' not in printed
    assert "CloudWatchMetrics" not in printed
