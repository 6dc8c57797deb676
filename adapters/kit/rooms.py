"""Group chats the configuration does not name yet.

Neither DingTalk nor WeCom shows anyone a group's id, yet `help_desk_groups` /
`help_desk_chats` are keyed by it: the first message from a group the configuration does not
name logs its id (and its name, where the platform sends one), once per group and process.
"""

from __future__ import annotations

import logging

# enough for every group a robot is in; beyond it nothing more is logged (a bounded set)
REMEMBERED = 1000


class UnlistedGroups:
    def __init__(self, logger: logging.Logger, config_key: str) -> None:
        self.log = logger
        self.config_key = config_key
        self._named: set[str] = set()

    def seen(self, group: str, name: str = "") -> None:
        """A message from `group`, which the configuration does not list."""
        if group in self._named or len(self._named) >= REMEMBERED:
            return
        self._named.add(group)
        self.log.info(
            f"robot message from a group not in {self.config_key} "
            "(list its id there to choose its ticket type)",
            extra={"group_id": group, "group": name},
        )
