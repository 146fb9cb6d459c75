"""Heroku's "Open app" opens `/`: it leads somewhere useful, and gives nothing away."""

from __future__ import annotations

from tests.conftest import API_TOKEN

PANEL_PASSWORD = "a panel password nobody sees"


def test_with_the_panel_on_the_root_opens_the_panel(make_client):
    client = make_client(PANEL_PASSWORD=PANEL_PASSWORD)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/panel/"
    assert client.get("/", follow_redirects=True).request.path == "/panel/login"  # then the login page


def test_with_the_panel_off_the_root_says_where_things_are_and_no_secret(make_client, twilio_api):
    client = make_client(PANEL_PASSWORD=None, SECRET_KEY="a secret key nobody sees")
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    for where in ("/api/health", "/api/openapi.json", "/slack/events", "/twilio/inbound", "PANEL_PASSWORD"):
        assert where in page
    for secret in (API_TOKEN, twilio_api.auth_token, twilio_api.account_sid, "a secret key nobody sees"):
        assert secret not in page
    assert response.headers["X-Frame-Options"] == "DENY"
    assert client.get("/api/health").status_code in (200, 503)  # the link it gives works without a token
