"""aioimaplib's MockImapServer, taught the standard UNSEEN search key it lacks.

The mock understands `UNKEYWORD \\Seen`, which selects the same messages; real servers are
asked for UNSEEN, so the double translates rather than the poller.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aioimaplib.imap_testing_server import ImapProtocol, MockImapServer


class _Protocol(ImapProtocol):  # type: ignore[misc]
    def search(self, tag: str, *args: str) -> Any:
        translated: list[str] = []
        for arg in args:
            translated += ["UNKEYWORD", "\\Seen"] if arg.upper() == "UNSEEN" else [arg]
        return super().search(tag, *translated)


class ImapDouble(MockImapServer):  # type: ignore[misc]
    def run_server(self, host: str = "127.0.0.1", port: int = 0, **_: Any) -> Any:
        def create_protocol() -> _Protocol:
            protocol = _Protocol(self._server_state, 0, self.capabilities, self.loop)
            self._connections.append(protocol)
            return protocol

        return self.loop.create_server(create_protocol, host, port)


def new_double() -> ImapDouble:
    return ImapDouble(loop=asyncio.get_running_loop())
