"""`gongdan` command line: serve, migrate, check-config, simulate."""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.config import Config, ConfigError, load_config

log = logging.getLogger("gongdan")

EXIT_INVALID = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="gongdan", description="Gongdan (工单): chat-first tickets."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the service")
    serve.add_argument("--config", required=True, help="YAML config file")
    serve.add_argument("--host", help="listen address (overrides service.host)")
    serve.add_argument(
        "--port", type=int, help="listen port (overrides service.port; 0 = any free port)"
    )
    mig = sub.add_parser("migrate", help="bring the database schema up to date")
    mig.add_argument("--config", required=True)
    check = sub.add_parser("check-config", help="validate a config file and list every problem")
    check.add_argument("file")
    sim = sub.add_parser(
        "simulate", help="replay historical tickets (CSV) against a config; prints what happens"
    )
    sim.add_argument("--config", required=True)
    sim.add_argument(
        "--tickets", required=True, help="CSV; columns in docs/assignment-and-escalation.md"
    )
    args = parser.parse_args(argv)

    if args.command == "check-config":
        return _check(args.file)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        _print_problems(args.config, exc)
        return EXIT_INVALID
    from bot.logs import setup_logging

    setup_logging(config.logging.level, config.logging.format)
    if args.command == "simulate":
        from bot.simulate import SimulateError, read_rows, simulate

        try:
            rows = read_rows(args.tickets)
        except SimulateError as exc:
            print(f"gongdan simulate: {exc}", file=sys.stderr)
            return EXIT_INVALID
        simulate(config, rows, sys.stdout)
        return 0
    from alembic.util import CommandError

    try:
        if args.command == "migrate":
            from storage.migrate import migrate

            asyncio.run(migrate(config.database.url))
            print(f"database at {_redact(config.database.url)} is up to date")
            return 0
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            return runner.run(_serve(config, args.host, args.port))
    except CommandError as exc:  # serve migrates first, so both meet a schema they cannot upgrade
        print(
            f"database.url: cannot bring {_redact(config.database.url)} up to date: {exc} — "
            "a revision this version cannot locate was written by a newer gongdan; run that "
            "version or restore a backup",
            file=sys.stderr,
        )
        return 1


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when it is installed (it is a dependency on Linux and macOS): the same asyncio
    API with its loop and transports in C (docs/adr/0004-runtime-costs.md). GONGDAN_EVENT_LOOP=
    asyncio picks the standard loop (to rule the loop out when chasing a problem)."""
    if os.environ.get("GONGDAN_EVENT_LOOP", "uvloop") == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _check(path: str) -> int:
    try:
        config = load_config(path)
    except ConfigError as exc:
        _print_problems(path, exc)
        return EXIT_INVALID
    print(config.summary())
    return 0


def _print_problems(path: str, exc: ConfigError) -> None:
    print(str(exc), file=sys.stderr)


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url


@dataclass(frozen=True)
class _Setting:
    """Where the operator set a value, so a message points at what to change: the command-line
    option, else the config key (noting the GONGDAN_* variable when that overrode it), and every
    way another value can be given."""

    key: str
    note: str = ""
    ways: str = ""

    @classmethod
    def of(cls, path: str, env: str, option: str | None = None, *, given: bool = False) -> _Setting:
        ways = [f"{path} in the config file", f"the {env} environment variable"]
        if option is not None:
            ways.append(option)
        told = ", ".join(ways[:-1]) + f" or {ways[-1]}"
        if given and option is not None:
            return cls(option, ways=told)
        return cls(path, f" (set by {env})" if env in os.environ else "", told)


def _cannot_listen(port: _Setting, host: _Setting, address: tuple[str, int], exc: OSError) -> str:
    """One line naming the setting to change and how, for an address a listener could not bind."""
    setting, why = port, f"cannot be listened on: {exc.strerror or exc}"
    if exc.errno == errno.EADDRINUSE:
        why = f"is already in use — stop the other process or choose another port: {port.ways}"
    elif exc.errno == errno.EACCES:
        why = f"needs privileges this process lacks — choose a port above 1023: {port.ways}"
    elif exc.errno == errno.EADDRNOTAVAIL:
        setting = host
        why = f"is not an address of this machine — choose one it has: {host.ways}"
    name, number = address
    where = f"[{name}]:{number}" if ":" in name else f"{name}:{number}"
    return f"{setting.key}: {where}{setting.note} {why}"


async def _serve(config: Config, host: str | None, port: int | None) -> int:
    from adapters.email.smtp_in import SmtpListenError
    from bot.bootstrap import StartupError, build, listen

    try:
        services = await build(config)
    except StartupError as exc:
        log.error(str(exc))
        return 1
    try:
        await services.start()
    except SmtpListenError as exc:
        # the listener's address is channels.email.smtp_listen (bot/bootstrap.py _email)
        smtp = _Setting.of("channels.email.smtp_listen", "GONGDAN_CHANNELS__EMAIL__SMTP_LISTEN")
        print(_cannot_listen(smtp, smtp, (exc.host, exc.port), exc.cause), file=sys.stderr)
        await services.stop()  # what started before it: writer, other channels
        return EXIT_INVALID
    # Everything built so far lives as long as the process: keep it out of the collector's
    # scans, and collect the young generation less often (a busy service allocates a lot of
    # short-lived objects; the default threshold of 700 spent ~10% of the CPU in gc here).
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    http_host = host or config.service.host
    http_port = config.service.port if port is None else port
    try:
        runner, url = await listen(services, http_host, http_port)
    except OSError as exc:
        print(
            _cannot_listen(
                _Setting.of("service.port", "GONGDAN_PORT", "--port", given=port is not None),
                _Setting.of("service.host", "GONGDAN_HOST", "--host", given=host is not None),
                (http_host, http_port),
                exc,
            ),
            file=sys.stderr,
        )
        await services.stop()
        return EXIT_INVALID
    log.info(
        "gongdan is serving",
        extra={
            "url": url,
            "database": _redact(config.database.url),
            "channels": sorted(services.channels),
        },
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping: draining in-flight work")
    services.health.draining = True
    await runner.cleanup()  # stops listening, lets in-flight requests finish
    await services.stop()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
