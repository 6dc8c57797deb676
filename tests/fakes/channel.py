"""The parts of the Channel contract a recording test channel does not care about."""

from __future__ import annotations

from adapters.contract import Capabilities
from core.people import Person
from core.ticket import ChannelRef


class ReachesNobody:
    """Mixed into a test channel: no capabilities, no direct conversations, no team rooms."""

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities()

    def direct_ref(self, person: Person) -> ChannelRef | None:
        return None

    def is_direct(self, where: ChannelRef) -> bool:
        return False

    def team_room(self, team_id: str) -> ChannelRef | None:
        return None
