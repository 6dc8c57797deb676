"""Who may press which button, who is who, and who gets a new ticket."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from core.assignment import Decision, choose_assignee
from core.i18n import Text
from core.people import Directory, Person, Role, StaticDirectory, Team, display_name
from core.permissions import ALLOW, Verdict, may, may_view, viewable
from core.ticket import Ticket
from core.workflow import Action

from .fakes import EVERYONE, FACILITIES, IT_TEAM, LI_LEI

DIRECTORY = StaticDirectory(EVERYONE, (IT_TEAM, FACILITIES))
NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)


def ticket(assignee: str | None = "lilei", team: str | None = "it") -> Ticket:
    return Ticket(
        "IT-1001",
        "it",
        1001,
        "键盘失灵",
        "zhangwei",
        NOW,
        NOW,
        assignee_id=assignee,
        team_id=team,
        watchers=["bob"],
    )


def verdict(person_id: str, action: Action, subject: Ticket | None = None) -> Verdict:
    person = DIRECTORY.person(person_id)
    assert person is not None
    return may(person, action, subject or ticket(), DIRECTORY)


def allowed_people(action: Action, subject: Ticket | None = None) -> set[str]:
    return {p.id for p in EVERYONE if verdict(p.id, action, subject).allowed}


STAFF = {"lilei", "hanmeimei", "alice", "wangfang", "chenjing", "root"}


@pytest.mark.parametrize("action", [Action.ACCEPT, Action.CLAIM, Action.ASSIGN])
def test_taking_or_passing_on_work_is_for_the_team(action: Action) -> None:
    assert allowed_people(action) == STAFF
    assert verdict("zhangwei", action) == Verdict(False, "reason.not_team")


@pytest.mark.parametrize(
    "action",
    [Action.START, Action.WAIT, Action.RESUME, Action.RESOLVE, Action.SET_PRIORITY],
)
def test_working_the_ticket_is_for_the_assignee_and_the_teams_leaders(action: Action) -> None:
    assert allowed_people(action) == {"lilei", "wangfang", "chenjing", "root"}
    assert verdict("hanmeimei", action) == Verdict(False, "reason.not_assignee")


@pytest.mark.parametrize("action", [Action.CLOSE, Action.REOPEN, Action.COMMENT])
def test_closing_reopening_and_commenting_is_for_everyone_involved(action: Action) -> None:
    assert allowed_people(action) == STAFF | {"zhangwei", "bob"}
    assert verdict("zhaolei", action) == Verdict(False, "reason.not_involved")


def test_cancelling_needs_the_requester_or_a_leader() -> None:
    assert allowed_people(Action.CANCEL) == {"zhangwei", "wangfang", "chenjing", "root"}
    assert verdict("lilei", Action.CANCEL) == Verdict(False, "reason.not_requester_or_lead")


def test_ticket_without_team_is_left_to_its_assignee_and_admins() -> None:
    lone = ticket(assignee="lilei", team=None)
    assert allowed_people(Action.RESOLVE, lone) == {"lilei", "root"}
    assert allowed_people(Action.CLAIM, lone) == {"lilei", "root"}


def test_admin_is_always_allowed() -> None:
    assert all(verdict("root", action) is ALLOW for action in Action)


# --- who may see what -------------------------------------------------------------------------


def test_everyone_known_may_view_every_ticket_today() -> None:
    others = (ticket(assignee=None, team="facilities"), ticket(assignee=None, team=None))
    assert all(may_view(p, t, DIRECTORY) for p in EVERYONE for t in (ticket(), *others))


def test_a_listing_keeps_what_the_viewer_may_see_in_its_order() -> None:
    page = [replace(ticket(), key=f"IT-{n}", number=n) for n in (1003, 1002, 1001)]
    assert viewable(LI_LEI, page, DIRECTORY) == page

    def not_1002(viewer: Person, subject: Ticket, directory: Directory) -> bool:
        return subject.key != "IT-1002"

    assert [t.key for t in viewable(LI_LEI, page, DIRECTORY, not_1002)] == ["IT-1003", "IT-1001"]


# --- people and teams -------------------------------------------------------------------------


def test_team_leaders_count_as_members() -> None:
    assert IT_TEAM.is_member("wangfang")
    assert IT_TEAM.is_member("chenjing")
    assert IT_TEAM.is_member("alice")
    assert not IT_TEAM.is_member("zhangwei")
    assert IT_TEAM.is_leader("chenjing")
    assert not IT_TEAM.is_leader("alice")


def test_person_is_found_by_channel_identity_and_learnt_later() -> None:
    directory = StaticDirectory([LI_LEI], [IT_TEAM])
    newcomer = Person("mei", Text("Mei"), identities={"slack": "U024BE7LH", "dingtalk": "staff-7"})
    assert directory.by_identity("slack", "U024BE7LH") is None

    directory.add(newcomer)

    assert directory.by_identity("slack", "U024BE7LH") is newcomer
    assert directory.by_identity("dingtalk", "staff-7") is newcomer
    assert directory.person("mei") is newcomer
    assert [p.id for p in directory.people] == ["lilei", "mei"]
    assert directory.teams == [IT_TEAM]
    assert directory.team("hr") is None


def test_names_show_in_the_readers_language() -> None:
    assert display_name(DIRECTORY, "lilei", "zh-CN") == "李雷"
    assert display_name(DIRECTORY, "lilei", "en") == "Li Lei"
    assert display_name(DIRECTORY, "bob", "zh-CN") == "Bob"
    assert display_name(DIRECTORY, "ghost", "en") == "ghost"
    assert display_name(DIRECTORY, None, "en") is None


def test_a_new_person_is_a_chinese_speaking_requester() -> None:
    person = Person("p", Text("P"))
    assert person.locale == "zh-CN"
    assert person.roles == frozenset({Role.REQUESTER})
    assert not person.is_admin


# --- assignment -------------------------------------------------------------------------------


def test_new_ticket_goes_to_the_team_lead() -> None:
    assert choose_assignee("it", DIRECTORY) == Decision("wangfang", "team it lead")


def test_team_without_lead_leaves_it_in_the_queue() -> None:
    assert choose_assignee("facilities", DIRECTORY) == Decision(
        None, "team facilities queue: anyone may claim"
    )


@pytest.mark.parametrize("team_id", [None, "hr"])
def test_no_team_leaves_it_unassigned(team_id: str | None) -> None:
    assert choose_assignee(team_id, DIRECTORY) == Decision(None, "no team: left in the queue")


def test_a_lead_of_a_listed_team_is_known() -> None:
    assert Team("x", Text("X"), lead="a").is_member("a")
