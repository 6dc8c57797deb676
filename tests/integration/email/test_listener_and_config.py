"""The SMTP listener's AUTH, and what check-config says about channels.email."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
import yaml

from bot.config import ConfigError, load_config
from tests.dbs import fresh_database
from tests.e2e.email.driver import IT, compose, key_in, mail_world
from tests.e2e.harness import TEST_CONFIG

EXAMPLE = Path(__file__).parents[3] / "deploy" / "gongdan.example.yaml"


def self_signed(tmp_path: Path) -> tuple[str, str]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost"),
            *("-days", "1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


async def test_wrong_smtp_password_is_refused_with_535_and_the_right_one_delivers(
    tmp_path: Path,
) -> None:
    cert, key = self_signed(tmp_path)
    options: dict[str, Any] = {
        "auth": {"mta": "s3cret"},
        "auth_required": True,
        "tls_cert": cert,
        "tls_key": key,
    }
    async with (
        fresh_database("sqlite", tmp_path) as url,
        mail_world(url, tmp_path, **options) as world,
    ):
        listener = world.channel.listener
        assert listener is not None
        raw = compose("Needs auth", "x")
        kwargs: dict[str, Any] = {
            "sender": "a@example.cn",
            "recipients": [IT],
            "port": listener.port,
            "start_tls": True,
            "validate_certs": False,
        }
        with pytest.raises(aiosmtplib.SMTPAuthenticationError) as refused:
            await aiosmtplib.send(
                raw, hostname="127.0.0.1", username="mta", password="no", **kwargs
            )
        assert refused.value.code == 535
        with pytest.raises(aiosmtplib.SMTPResponseException) as anonymous:
            await aiosmtplib.send(raw, hostname="127.0.0.1", **kwargs)
        assert anonymous.value.code == 530
        _, reply = await aiosmtplib.send(
            raw, hostname="127.0.0.1", username="mta", password="s3cret", **kwargs
        )
        assert key_in(reply)


def _problems(tmp_path: Path, email: dict[str, object]) -> list[str]:
    data = yaml.safe_load(TEST_CONFIG.read_text(encoding="utf-8"))
    data["channels"]["email"] = email
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as failed:
        load_config(path, {})
    return failed.value.problems


def test_check_config_names_the_address_with_an_unknown_ticket_type(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        {
            "smtp_listen": "127.0.0.1:2525",
            "domain": "acme.test",
            "addresses": {"it@acme.test": "itt"},
        },
    )
    assert "channels.email.addresses.it@acme.test: unknown ticket type 'itt'" in problems


def test_check_config_says_mail_needs_a_way_in(tmp_path: Path) -> None:
    problems = _problems(tmp_path, {"domain": "acme.test", "addresses": {"it@acme.test": "it"}})
    assert any("set smtp_listen, imap or both" in p for p in problems)


@pytest.mark.parametrize(
    ("imap", "problem"),
    [
        (
            {"quarantine_after": 0},
            "channels.email.imap.quarantine_after: must be at least 1",
        ),
        (
            {"quarantine_folder": "inbox"},
            "channels.email.imap: quarantine_folder ('inbox') must differ from folder ('INBOX'): "
            "quarantined mail would be fetched again",
        ),
    ],
)
def test_check_config_names_a_quarantine_that_cannot_work(
    tmp_path: Path, imap: dict[str, object], problem: str
) -> None:
    login = {"host": "imap.acme.test", "user": "it@acme.test", "password": "x"}
    email: dict[str, object] = {
        "domain": "acme.test",
        "addresses": {"it@acme.test": "it"},
        "imap": login | imap,
    }
    assert problem in _problems(tmp_path, email)


def test_example_config_enables_the_listener_without_a_relay() -> None:
    config = load_config(EXAMPLE, {"GONGDAN_DATABASE_URL": "sqlite+aiosqlite:///x.db"})
    mail = config.channels.email
    assert mail is not None and mail.enabled
    assert mail.smtp_listen == "127.0.0.1:2525" and mail.relay is None
