"""Settings come from the environment once, with the documented defaults."""

from __future__ import annotations

import pytest

from multisms.config import Settings


def settings(**env) -> Settings:
    return Settings(_env_file=None, **env)


@pytest.mark.parametrize("url", ["postgres://u:p@db:5432/app", "postgresql://u:p@db:5432/app"])
def test_heroku_and_plain_postgres_urls_use_psycopg(url):
    assert settings(database_url=url).database_url == "postgresql+psycopg://u:p@db:5432/app"


def test_defaults_match_the_documentation(monkeypatch):
    defaults = settings()
    assert defaults.database_url == "sqlite:///data/app.db"
    assert defaults.redis_url is None
    assert defaults.multi_sms_max_recipients == 250
    assert defaults.multi_sms_send_delay_seconds == 0
    assert defaults.auto_reply_mode == "off"
    assert defaults.default_region is None
    assert not defaults.twilio_configured and not defaults.slack_configured


def test_environment_variables_are_read(monkeypatch):
    monkeypatch.setenv("MULTI_SMS_MAX_RECIPIENTS", "100")
    monkeypatch.setenv("DEFAULT_REGION", "pl")
    monkeypatch.setenv("MULTISMS_ALLOWED_USERS", "U1, U2,,")
    monkeypatch.setenv("TWILIO_DEFAULT_FROM", "")
    loaded = settings()
    assert loaded.multi_sms_max_recipients == 100
    assert loaded.default_region == "PL"
    assert loaded.allowed_users == {"U1", "U2"}
    assert loaded.twilio_default_from is None


def test_messaging_service_wins_over_from_number():
    both = settings(twilio_default_from="+15005550006", twilio_messaging_service_sid="MG" + "0" * 32)
    assert both.default_sender == "MG" + "0" * 32
    assert settings(twilio_default_from="+15005550006").default_sender == "+15005550006"


def test_bad_values_are_refused_with_the_variable_named(monkeypatch):
    monkeypatch.setenv("AUTO_REPLY_MODE", "sometimes")
    with pytest.raises(ValueError, match="auto_reply_mode"):
        settings()


def test_console_mode_needs_no_sender_but_twilio_does():
    assert settings().default_sender == "CONSOLE"
    assert settings(twilio_account_sid="AC1", twilio_auth_token="t").default_sender is None
