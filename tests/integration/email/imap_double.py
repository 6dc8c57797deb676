"""aioimaplib's MockImapServer, taught the standard UNSEEN search key it lacks and made to
behave like a real server where the poller depends on it.

The mock understands `UNKEYWORD \\Seen`, which selects the same messages; real servers are
asked for UNSEEN, so the double translates rather than the poller. Beyond that, as real
servers do: UIDVALIDITY stays the same across connections; UID MOVE and UID COPY pick
messages by UID and answer `NO [TRYCREATE]` for a folder that does not exist; EXPUNGE
removes only messages flagged \\Deleted; keywords may start with `$`; and a server built
with `can_create=False` refuses CREATE.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aioimaplib.imap_testing_server import (
    CAPABILITIES,
    IDLE,
    ImapProtocol,
    MockImapServer,
)

# the mock's own command pattern, plus `$` (keywords such as $GongdanQuarantined)
_COMMAND = re.compile(
    rb'((DONE)|(?P<tag>\w+) (?P<cmd>[\w]+)([\w \.#@:\*"\(\)\{\}\[\]\+\-\\\%=$]+)?$)'
)


class _Protocol(ImapProtocol):  # type: ignore[misc]
    can_create = True

    def data_received(self, data: bytes) -> None:
        if self.append_literal_command is not None:
            self.append_literal(data)
            return
        for line in data.splitlines():
            if _COMMAND.match(line) is None:
                self.send_untagged_line(f"BAD Error in IMAP command : Unknown command ({line!r}).")
                continue
            words = line.decode().rstrip().split()
            if self.state is not IDLE:
                self.exec_command(words[0], words[1:])
            else:
                self.exec_command(None, words)

    def search(self, tag: str, *args: str) -> Any:
        translated: list[str] = []
        for arg in args:
            translated += ["UNKEYWORD", "\\Seen"] if arg.upper() == "UNSEEN" else [arg]
        return super().search(tag, *translated)

    def create(self, tag: str, *args: str) -> None:
        if not self.can_create:
            self.send_tagged_line(tag, "NO [NOPERM] CREATE not permitted.")
            return
        super().create(tag, *args)

    def move(self, tag: str, *args: str) -> None:
        self._transfer(tag, args, remove=True)

    def copy(self, tag: str, *args: str) -> None:
        self._transfer(tag, args, remove=False)

    def _transfer(self, tag: str, args: tuple[str, ...], *, remove: bool) -> None:
        state, user = self.server_state, self.user_login
        message_set, folder = args[-2], args[-1]
        if not state.has_mailbox(user, folder):
            self.send_tagged_line(tag, "NO [TRYCREATE] Mailbox does not exist.")
            return
        wanted = self._build_sequence_range(message_set)
        attribute = "uid" if args[0] == "uid" else "id"
        source = state.get_mailbox_messages(user, self.user_mailbox)
        for message in [m for m in source if getattr(m, attribute) in wanted]:
            state.add_mail(user, message, folder)  # a copy, flags and all, with a new UID
            if remove:
                self.send_untagged_line(f"{message.id} EXPUNGE")
                state.remove(message, user, self.user_mailbox)
        self.send_tagged_line(tag, "OK Done.")

    def expunge(self, tag: str, *args: str) -> None:
        wanted = self._build_sequence_range(args[1]) if args[:1] == ("uid",) else None
        state, user = self.server_state, self.user_login
        for message in list(state.get_mailbox_messages(user, self.user_mailbox)):
            if "\\Deleted" in message.flags and (wanted is None or message.uid in wanted):
                self.send_untagged_line(f"{message.id} EXPUNGE")
                state.remove(message, user, self.user_mailbox)
        self.send_tagged_line(tag, "OK EXPUNGE completed.")


class ImapDouble(MockImapServer):  # type: ignore[misc]
    def __init__(
        self,
        *,
        loop: asyncio.AbstractEventLoop,
        capabilities: str = CAPABILITIES,
        can_create: bool = True,
    ) -> None:
        super().__init__(capabilities=capabilities, loop=loop)
        self.can_create = can_create
        self.uidvalidity = 1700000000
        self.port = 0  # set by the test once it listens

    def run_server(self, host: str = "127.0.0.1", port: int = 0, **_: Any) -> Any:
        def create_protocol() -> _Protocol:
            protocol = _Protocol(self._server_state, 0, self.capabilities, self.loop)
            protocol.uidvalidity = self.uidvalidity
            protocol.can_create = self.can_create
            self._connections.append(protocol)
            return protocol

        return self.loop.create_server(create_protocol, host, port)


def new_double(capabilities: str = CAPABILITIES, *, can_create: bool = True) -> ImapDouble:
    return ImapDouble(
        loop=asyncio.get_running_loop(), capabilities=capabilities, can_create=can_create
    )
