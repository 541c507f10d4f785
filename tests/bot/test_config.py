"""Configuration from the environment: every bad value is one clear sentence and exit code 2."""

from __future__ import annotations

import pytest

from bot.channels import REGISTRY
from bot.config import ConfigError, Settings, load_settings
from tests.conftest import FLOWS, LOCALES, helpline

BASE = {"HELPLINE_FLOWS_DIR": str(FLOWS), "HELPLINE_LOCALES_DIR": str(LOCALES)}


def load(environ: dict[str, str]) -> Settings:
    return load_settings(environ, channels=REGISTRY.values())


def test_defaults_match_the_spec(tmp_path):
    settings = load(BASE)
    assert (settings.host, settings.port, settings.retention_days) == ("127.0.0.1", 8080, 30)
    assert settings.reply_window_hours == 24
    assert settings.redis_url is None and settings.public_url is None
    assert REGISTRY["telegram"].env(settings)["TELEGRAM_API_BASE_URL"] == (
        "https://api.telegram.org/bot"
    )
    assert REGISTRY["sms"].env(settings)["TWILIO_API_BASE_URL"] == "https://api.twilio.com"
    assert str(settings.data_dir) == ".helpline" and settings.uses_example_shelters
    assert settings.channel_env == {}


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"HELPLINE_PORT": "eighty"}, "HELPLINE_PORT='eighty' is not a port number"),
        ({"HELPLINE_PORT": "70000"}, "HELPLINE_PORT='70000' is not a port number"),
        (
            {"HELPLINE_FLOWS_DIR": "/nonexistent/flows"},
            "HELPLINE_FLOWS_DIR='/nonexistent/flows' is not a directory",
        ),
        ({"REDIS_URL": "redis-host:6380"}, "REDIS_URL='redis-host:6380' is malformed"),
        ({"REDIS_URL": "redis://:bad:port"}, "is malformed"),
        ({"HELPLINE_RETENTION_DAYS": "0"}, "HELPLINE_RETENTION_DAYS='0' must be a whole number"),
        ({"HELPLINE_PROCESSES": "0"}, "HELPLINE_PROCESSES='0' must be a whole number from 1 to 64"),
        ({"HELPLINE_PROCESSES": "two"}, "HELPLINE_PROCESSES='two' must be a whole number"),
        (
            {"HELPLINE_PUBLIC_URL": "help.example.org"},
            "HELPLINE_PUBLIC_URL='help.example.org' is not a valid URL",
        ),
        (
            {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32},
            "also set TWILIO_FROM_NUMBER (SMS) or TWILIO_WHATSAPP_FROM",
        ),
        ({"TWILIO_ACCOUNT_SID": "foo"}, "TWILIO_ACCOUNT_SID must be a Twilio Account SID"),
        (
            {"TWILIO_FROM_NUMBER": "this is not a phone number at all"},
            "TWILIO_FROM_NUMBER must be a phone number in international form",
        ),
        (
            {
                "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
                "TWILIO_AUTH_TOKEN": "t",
                "TWILIO_FROM_NUMBER": "+15005550006",
            },
            "The SMS channel needs HELPLINE_PUBLIC_URL",
        ),
        ({"TELEGRAM_WEBHOOK_SECRET": "a b"}, "TELEGRAM_WEBHOOK_SECRET may only hold letters"),
        ({"TELEGRAM_API_BASE_URL": "api.telegram.org"}, "is not a valid URL"),
        ({"TWILIO_API_BASE_URL": "ftp://twilio"}, "TWILIO_API_BASE_URL='ftp://twilio' is not"),
        ({"HELPLINE_SECRET_KEY": "short"}, "HELPLINE_SECRET_KEY is too short"),
        ({"HELPLINE_REPLY_WINDOW_HOURS": "0"}, "HELPLINE_REPLY_WINDOW_HOURS='0' must be a whole"),
        ({"HELPLINE_REPLY_WINDOW_HOURS": "1.5"}, "HELPLINE_REPLY_WINDOW_HOURS='1.5' must be"),
        ({"HELPLINE_SHELTERS_FILE": "/nonexistent.yaml"}, "is not a readable file"),
        ({"HELPLINE_METRICS_TOKEN": "short"}, "HELPLINE_METRICS_TOKEN must be at least 16"),
        ({"HELPLINE_LOG_FORMAT": "xml"}, "HELPLINE_LOG_FORMAT='xml' must be `text` or `json`"),
        (
            {"HELPLINE_TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"},
            "HELPLINE_TRUSTED_PROXIES has 'proxy.local', which is not an address or CIDR",
        ),
    ],
)
def test_bad_values_are_reported_in_words(env, expected):
    with pytest.raises(ConfigError) as error:
        load({**BASE, **env})
    assert any(expected in problem for problem in error.value.problems), error.value.problems


def test_all_problems_are_reported_together():
    with pytest.raises(ConfigError) as error:
        load({**BASE, "HELPLINE_PORT": "x", "REDIS_URL": "nope"})
    assert len(error.value.problems) == 2


def test_channel_variables_are_read_as_their_registry_line_declares():
    settings = load(
        {
            **BASE,
            "TELEGRAM_BOT_TOKEN": " 123:abc ",
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot/",
            "UNRELATED": "ignored",
        }
    )
    assert settings.channel_env == {
        "TELEGRAM_BOT_TOKEN": "123:abc",
        "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot",
    }
    assert REGISTRY["telegram"].enabled(settings) and not REGISTRY["sms"].enabled(settings)


def test_the_two_twilio_channels_share_the_account_and_each_has_its_own_switch():
    """SMS and WhatsApp read the same account's variables (each checked once);
    either sender alone switches on its channel only."""
    account = {
        **BASE,
        "HELPLINE_PUBLIC_URL": "https://help.example.org",
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TWILIO_AUTH_TOKEN": "t",
    }
    settings = load({**account, "TWILIO_FROM_NUMBER": "+15005550006"})
    assert REGISTRY["sms"].enabled(settings) and not REGISTRY["whatsapp"].enabled(settings)
    settings = load({**account, "TWILIO_WHATSAPP_FROM": "whatsapp:+14155238886"})
    assert REGISTRY["whatsapp"].enabled(settings) and not REGISTRY["sms"].enabled(settings)
    with pytest.raises(ConfigError) as error:
        load({**BASE, "TWILIO_WHATSAPP_FROM": "+14155238886", "TWILIO_API_BASE_URL": "x"})
    assert sorted(error.value.problems) == sorted(
        [
            "The WhatsApp channel needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, "
            "TWILIO_WHATSAPP_FROM: also set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN.",
            "TWILIO_API_BASE_URL='x' is not a valid URL: it must start with http:// or https://.",
            "TWILIO_WHATSAPP_FROM must be a WhatsApp sender such as whatsapp:+14155238886.",
        ]
    )


def test_cli_exits_2_without_a_traceback(tmp_path):
    result = helpline(
        "run",
        env={
            **BASE,
            "PATH": "/usr/bin:/bin",
            "HELPLINE_PORT": "not-a-port",
            "REDIS_URL": "localhost",
        },
    )
    assert result.returncode == 2
    assert "HELPLINE_PORT='not-a-port' is not a port number" in result.stderr
    assert "REDIS_URL='localhost' is malformed" in result.stderr
    assert "Traceback" not in result.stderr


def test_secret_key_is_generated_once_into_the_data_dir(tmp_path):
    settings = load({**BASE, "HELPLINE_DATA_DIR": str(tmp_path)}).with_secret()
    again = load({**BASE, "HELPLINE_DATA_DIR": str(tmp_path)}).with_secret()
    assert settings.secret_key == again.secret_key and len(settings.secret_key) == 32
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600


def test_the_key_file_copied_into_the_environment_is_the_same_key(tmp_path):
    """One format: what the generated file holds, put in HELPLINE_SECRET_KEY, names
    every conversation as before (the natural step when moving to compose)."""
    from bot.store.privacy import Privacy

    generated = load({**BASE, "HELPLINE_DATA_DIR": str(tmp_path)}).with_secret()
    text = (tmp_path / "secret.key").read_text()
    copied = load({**BASE, "HELPLINE_SECRET_KEY": text + "\n"}).with_secret()
    assert copied.secret_key == generated.secret_key
    assert Privacy(copied.secret_key).pid("sms", "+447700900123") == Privacy(
        generated.secret_key
    ).pid("sms", "+447700900123")


def test_a_hex_key_set_before_the_format_changed_is_still_read():
    """Releases before 2026-12 read a hex HELPLINE_SECRET_KEY as text: that
    reading stays accepted for the conversations it named."""
    text = "ab" * 32
    settings = load({**BASE, "HELPLINE_SECRET_KEY": text})
    assert settings.secret_key == bytes.fromhex(text)
    assert settings.old_secret_keys == (text.encode(),)
    words = load({**BASE, "HELPLINE_SECRET_KEY": "a passphrase of some length"})
    assert words.secret_key == b"a passphrase of some length" and words.old_secret_keys == ()


def test_old_secret_keys_are_read_in_the_same_format():
    old = "cd" * 32
    settings = load(
        {
            **BASE,
            "HELPLINE_SECRET_KEY": "ab" * 32,
            "HELPLINE_OLD_SECRET_KEYS": f"{old}, older-passphrase-1",
        }
    )
    assert bytes.fromhex(old) in settings.old_secret_keys
    assert b"older-passphrase-1" in settings.old_secret_keys
    with pytest.raises(ConfigError, match="HELPLINE_OLD_SECRET_KEYS"):
        load({**BASE, "HELPLINE_OLD_SECRET_KEYS": "short"})


def test_what_an_old_key_sealed_or_signed_still_opens_and_new_things_use_the_new_key():
    from bot.store.privacy import Privacy

    old, new = b"old-secret-key-0123456789", b"new-secret-key-0123456789"
    before = Privacy(old)
    sealed, signed = before.encrypt("+447700900123", "pid1"), before.sign("session")
    after = Privacy(new, (old,))
    assert after.decrypt(sealed, "pid1") == "+447700900123"
    assert after.unsign(signed) == "session"
    assert Privacy(new).decrypt(sealed, "pid1") is None and Privacy(new).unsign(signed) is None
    assert before.decrypt(after.encrypt("x", "pid1"), "pid1") is None  # sealed with the new key
    assert after.pid("sms", "1") == Privacy(new).pid("sms", "1") != before.pid("sms", "1")
    assert before.telegram_secret in after.telegram_secrets


def test_trusted_proxies_name_the_client_from_the_right_of_x_forwarded_for():
    from aiohttp.test_utils import make_mocked_request

    from bot.channels.clients import client_address

    trusted = load({**BASE, "HELPLINE_TRUSTED_PROXIES": "10.0.0.0/8,::1"}).trusted_proxies

    def client(peer: str, *forwarded: str) -> str:
        headers = [("X-Forwarded-For", value) for value in forwarded]
        request = make_mocked_request("GET", "/", headers=headers)
        request._transport_peername = (peer, 1234)  # what aiohttp reads request.remote from
        return client_address(request, trusted)

    assert client("10.0.0.2", "198.51.100.7") == "198.51.100.7"
    # what the client wrote itself (left) is not believed; our proxies (right) are skipped
    assert client("10.0.0.2", "1.2.3.4, 198.51.100.7, 10.0.0.9") == "198.51.100.7"
    assert client("10.0.0.2", "1.2.3.4", "198.51.100.7") == "198.51.100.7"
    assert client("::1", "[2001:db8::7]:443") == "2001:db8::7"
    assert client("10.0.0.2", "garbage, 10.0.0.9") == "10.0.0.9"
    assert client("10.0.0.2") == "10.0.0.2"
    # from anyone else the header is ignored
    assert client("203.0.113.5", "198.51.100.7") == "203.0.113.5"


@pytest.mark.parametrize(
    "sender", ["+447700900123", "MG" + "0123456789abcdef" * 2, "Helpline", "HELP 24"]
)
def test_an_sms_sender_is_a_number_a_messaging_service_or_a_sender_id(sender):
    settings = load(
        {
            **BASE,
            "HELPLINE_PUBLIC_URL": "https://help.example.org",
            "TWILIO_ACCOUNT_SID": "AC" + "0123456789ABCDEF" * 2,
            "TWILIO_AUTH_TOKEN": "t",
            "TWILIO_FROM_NUMBER": sender,
        }
    )
    assert REGISTRY["sms"].enabled(settings)
