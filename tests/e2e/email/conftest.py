from __future__ import annotations

import logging

import pytest


@pytest.fixture(autouse=True)
def quiet_mail_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
