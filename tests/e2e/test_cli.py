"""The `gongdan` command as an operator uses it: check-config, migrate, serve and SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

import aiohttp

from tests.e2e.harness import EXAMPLE_CONFIG

GONGDAN = [sys.executable, "-m", "bot.cli"]
TOKEN = "dev-token-change-me-0123456789"


async def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *GONGDAN,
        *args,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_check_config_accepts_the_example() -> None:
    code, out, _ = await _run("check-config", str(EXAMPLE_CONFIG))
    assert code == 0
    assert "3 ticket types" in out


async def test_check_config_lists_every_problem_with_its_key_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "service: {name: x, port: eighty}\n"
        "database: {url: '${GONGDAN_NOT_SET_ANYWHERE}'}\n"
        "ticket_types: [{id: it, prefix: it, name: IT}]\n",
        encoding="utf-8",
    )
    code, _out, err = await _run("check-config", str(bad))
    assert code == 2
    assert "Traceback" not in err
    assert "service.port:" in err
    assert "database.url: environment variable GONGDAN_NOT_SET_ANYWHERE is not set" in err
    assert "ticket_types[0].prefix:" in err


async def test_check_config_on_a_missing_file_says_so(tmp_path: Path) -> None:
    code, _, err = await _run("check-config", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert "nope.yaml" in err and "Traceback" not in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve_env(tmp_path: Path) -> dict[str, str]:
    """The example config on a fresh database, its SMTP listener on a port nobody holds."""
    return {
        "GONGDAN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/g.db",
        "GONGDAN_CHANNELS__EMAIL__SMTP_LISTEN": f"127.0.0.1:{_free_port()}",
        "GONGDAN_LOG_LEVEL": "INFO",
        "GONGDAN_LOGGING__FORMAT": "json",
    }


async def _start_serving(env: dict[str, str], port: int) -> asyncio.subprocess.Process:
    """`gongdan serve` on port, once /readyz answers 200; fails with the server's stderr if
    it exits or is not ready within 20 s."""
    proc = await asyncio.create_subprocess_exec(
        *GONGDAN,
        "serve",
        "--config",
        str(EXAMPLE_CONFIG),
        "--port",
        str(port),
        env={**os.environ, **env},
        stderr=asyncio.subprocess.PIPE,
    )
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            if proc.returncode is not None:
                break
            try:
                async with http.get(f"http://127.0.0.1:{port}/readyz") as r:
                    if r.status == 200:
                        return proc
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    if proc.returncode is None:
        proc.kill()
    await proc.wait()
    assert proc.stderr is not None
    err = (await proc.stderr.read()).decode(errors="replace")
    raise AssertionError(f"gongdan serve did not become ready (exit {proc.returncode}):\n{err}")


async def test_serve_survives_sigterm_with_nothing_lost(tmp_path: Path) -> None:
    env = _serve_env(tmp_path)
    code, out, _ = await _run("migrate", "--config", str(EXAMPLE_CONFIG), env=env)
    assert code == 0 and "up to date" in out

    async def serve_and_create(title: str) -> list[str]:
        port = _free_port()
        proc = await _start_serving(env, port)
        url = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession() as http:
            async with http.post(
                url + "/api/v1/tickets", json={"type": "it", "title": title}, headers=headers
            ) as r:
                assert r.status == 201
            async with http.get(url + "/api/v1/tickets", headers=headers) as r:
                keys = [t["key"] for t in (await r.json())["items"]]
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
        assert proc.stderr is not None
        logs = [
            json.loads(line) for line in (await proc.stderr.read()).decode().splitlines() if line
        ]
        assert any(entry["msg"] == "stopped" for entry in logs)
        return keys

    assert await serve_and_create("first") == ["IT-1001"]
    assert await serve_and_create("after restart") == ["IT-1002", "IT-1001"]


async def test_serve_on_a_busy_http_port_names_it_and_exits_2(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        code, _out, err = await _run(
            "serve", "--config", str(EXAMPLE_CONFIG), "--port", str(busy), env=_serve_env(tmp_path)
        )
    assert code == 2
    assert "Traceback" not in err
    assert (
        f"--port: 127.0.0.1:{busy} is already in use — stop the other process or choose "
        "another port: service.port in the config file, the GONGDAN_PORT environment variable "
        "or --port" in err
    )


async def test_serve_on_a_busy_port_from_the_environment_says_where_to_choose_another(
    tmp_path: Path,
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        env = {**_serve_env(tmp_path), "GONGDAN_PORT": str(busy)}
        code, _out, err = await _run("serve", "--config", str(EXAMPLE_CONFIG), env=env)
    assert code == 2
    assert "Traceback" not in err
    assert (
        f"service.port: 127.0.0.1:{busy} (set by GONGDAN_PORT) is already in use — stop the "
        "other process or choose another port: service.port in the config file, the "
        "GONGDAN_PORT environment variable or --port" in err
    )


async def test_serve_on_a_busy_smtp_address_names_the_setting_and_exits_2(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        config = tmp_path / "gongdan.yaml"
        text = EXAMPLE_CONFIG.read_text(encoding="utf-8").replace(
            'smtp_listen: "127.0.0.1:2525"', f'smtp_listen: "127.0.0.1:{busy}"'
        )
        assert f"127.0.0.1:{busy}" in text, "the example config's smtp_listen line moved"
        config.write_text(text, encoding="utf-8")
        env = {"GONGDAN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/g.db"}
        code, _out, err = await _run(
            "serve", "--config", str(config), "--port", str(_free_port()), env=env
        )
    assert code == 2
    assert "Traceback" not in err
    assert (
        f"channels.email.smtp_listen: 127.0.0.1:{busy} is already in use — stop the other "
        "process or choose another port: channels.email.smtp_listen in the config file or the "
        "GONGDAN_CHANNELS__EMAIL__SMTP_LISTEN environment variable" in err
    )


async def test_a_database_from_a_newer_version_is_refused_without_a_traceback(
    tmp_path: Path,
) -> None:
    env = _serve_env(tmp_path)
    assert (await _run("migrate", "--config", str(EXAMPLE_CONFIG), env=env))[0] == 0
    with closing(sqlite3.connect(tmp_path / "g.db")) as db, db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    for command in (["migrate"], ["serve", "--port", str(_free_port())]):
        code, _out, err = await _run(*command, "--config", str(EXAMPLE_CONFIG), env=env)
        assert code == 1, command
        assert "Traceback" not in err
        assert "Can't locate revision identified by '9999'" in err
        assert "written by a newer gongdan" in err
