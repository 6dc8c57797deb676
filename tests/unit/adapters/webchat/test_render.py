"""The web chat's HTML: what a person sees on a card or a form, and that nobody can inject markup."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest

from adapters.webchat.render import EditTarget, render_card, render_form
from core.card import ActionKind, Card, CardAction, CardField, Colour, Style, build_card
from core.clock import FrozenClock
from core.forms import FieldKind, FieldSpec, Option, TicketType
from core.i18n import Locale, Text
from core.people import Person, Role, StaticDirectory, Team
from core.ports import Context
from core.ticket import Status, Ticket
from core.workflow import Action

HOSTILE = "<script>alert(1)</script> <img src=x onerror=alert(2)> \"quoted' <!channel> &amp;"
_VOID = {"input", "img", "br", "hr", "meta", "link", "source", "area", "col", "wbr", "embed"}


# ------------------------------------------------------------------------------ a small DOM


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list[Node] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.parts) + "".join(c.text for c in self.children)

    def walk(self) -> list[Node]:
        return [self, *(d for c in self.children for d in c.walk())]

    def all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        want = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
        return [
            n
            for n in self.walk()
            if (tag is None or n.tag == tag) and all(n.attrs.get(k) == v for k, v in want.items())
        ]

    def one(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.all(tag, **attrs)
        assert len(found) == 1, f"expected one <{tag} {attrs}>, found {len(found)}"
        return found[0]

    def has_class(self, name: str) -> bool:
        return name in (self.attrs.get("class") or "").split()


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].parts.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    return builder.root


def classes(root: Node, name: str) -> list[Node]:
    return [n for n in root.walk() if n.has_class(name)]


# ------------------------------------------------------------------------------ fixtures

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PEOPLE = (
    Person("li.lei", Text("Li Lei", "李雷"), roles=frozenset({Role.AGENT})),
    Person("han.meimei", Text("Han Meimei", "韩梅梅")),
    Person("alice", Text("Alice", "爱丽丝"), roles=frozenset({Role.LEAD})),
)
IT = TicketType(
    "it",
    "IT",
    Text("IT support", "IT 支持"),
    fields=(
        FieldSpec(
            "category",
            FieldKind.SELECT,
            Text("Category", "类别"),
            required=True,
            options=(Option("vpn", Text("VPN", "VPN")), Option("laptop", Text("Laptop", "笔记本"))),
        ),
        FieldSpec("amount", FieldKind.NUMBER, Text("Amount", "金额"), min=0, max=5000),
        FieldSpec(
            "systems",
            FieldKind.MULTI_SELECT,
            Text("Systems", "系统"),
            options=(Option("mail", Text("Mail", "邮箱")), Option("erp", Text("ERP", "ERP"))),
        ),
        FieldSpec("needed_by", FieldKind.DATE, Text("Needed by", "期望日期")),
        FieldSpec("approver", FieldKind.PERSON, Text("Approver", "审批人"), required=True),
        FieldSpec("details", FieldKind.LONG_TEXT, Text("Details", "详情")),
        FieldSpec("asset", FieldKind.TEXT, Text("Asset tag", "资产编号"), max=20),
        FieldSpec("screenshot", FieldKind.ATTACHMENT, Text("Screenshot", "截图")),
    ),
    default_team="it",
)
CTX = Context(
    {"it": IT},
    StaticDirectory(PEOPLE, [Team("it", Text("IT"), members=("li.lei",), lead="alice")]),
    FrozenClock(NOW),
)
WHO = [(p.id, p.name.get("zh-CN")) for p in PEOPLE]


def ticket(status: Status, assignee: str | None = None, **changes: Any) -> Ticket:
    base = Ticket(
        key="IT-1001",
        type_id="it",
        number=1001,
        title="VPN 连不上",
        requester_id="han.meimei",
        created_at=NOW,
        updated_at=NOW,
        status=status,
        assignee_id=assignee,
        team_id="it",
    )
    return replace(base, **changes)


def card_of(t: Ticket, locale: Locale = "zh-CN") -> Node:
    return parse(render_card(build_card(t, CTX, locale))).one("article")


def actions(card: Node) -> list[str]:
    return [n.attrs["data-action"] or "" for n in card.walk() if "data-action" in n.attrs]


# ------------------------------------------------------------------------------ card


def test_hostile_title_body_and_field_values_render_as_plain_text() -> None:
    t = ticket(
        Status.NEW, title=HOSTILE, description=f"line one\n{HOSTILE}", fields={"asset": HOSTILE}
    )
    card = card_of(t)
    assert not card.all("script")
    assert not card.all("img")
    assert classes(card, "card__title")[0].text == HOSTILE
    assert classes(card, "card__body")[0].text == f"line one\n{HOSTILE}"
    assert HOSTILE in [dd.text for dd in card.all("dd")]


def test_quotes_in_confirm_text_and_options_cannot_break_out_of_attributes() -> None:
    evil = '" onclick="alert(1)'
    card = Card(
        ticket_key='IT-1"><b>',
        version=2,
        title="t",
        status=Status.NEW,
        status_label=HOSTILE,
        colour=Colour.GREY,
        fields=(CardField(HOSTILE, HOSTILE),),
        actions=(
            CardAction(Action.CANCEL, HOSTILE, style=Style.DANGER, confirm=evil),
            CardAction(Action.ASSIGN, "转派", ActionKind.PERSON_SELECT, options=((evil, HOSTILE),)),
        ),
        locale="zh-CN",
    )
    root = parse(render_card(card))
    article = root.one("article")
    assert article.attrs["data-ticket"] == 'IT-1"><b>'
    assert not root.all("b")
    assert not root.all("script")
    assert not root.all("img")
    button = root.one("button", data_action="cancel")
    assert button.attrs["data-confirm"] == evil
    assert "onclick" not in button.attrs
    option = root.one("option", value=evil)
    assert option.text == HOSTILE
    assert "onclick" not in option.attrs
    assert classes(root, "card__status")[0].text == HOSTILE


def test_card_carries_ticket_version_and_status_colour_for_in_place_updates() -> None:
    card = card_of(ticket(Status.ACCEPTED, "li.lei", version=7))
    assert card.attrs["data-ticket"] == "IT-1001"
    assert card.attrs["data-version"] == "7"
    assert card.has_class("card")
    assert card.has_class("card--indigo")
    assert classes(card, "card__key")[0].text == "IT-1001"
    assert classes(card, "card__status")[0].text == "已受理"


def test_assigned_ticket_offers_accept_to_its_assignee_not_claim() -> None:
    card = card_of(ticket(Status.ASSIGNED, "li.lei"))
    assert actions(card)[0] == "accept"
    assert "claim" not in actions(card)
    accept = card.one("button", data_action="accept")
    assert accept.text == "受理"
    assert accept.has_class("btn--primary")
    assert accept.attrs["type"] == "button"


def test_unassigned_ticket_offers_claim_not_accept() -> None:
    card = card_of(ticket(Status.NEW))
    assert actions(card)[0] == "claim"
    assert "accept" not in actions(card)


def test_resolved_ticket_offers_close_and_reopen_and_still_takes_comments() -> None:
    card = card_of(ticket(Status.RESOLVED, "li.lei"))
    assert actions(card) == ["close", "reopen", "comment"]
    assert card.has_class("card--green")


def test_cancel_asks_for_confirmation_in_the_cards_language() -> None:
    zh = card_of(ticket(Status.ASSIGNED, "li.lei"), "zh-CN").one("button", data_action="cancel")
    en = card_of(ticket(Status.ASSIGNED, "li.lei"), "en").one("button", data_action="cancel")
    assert zh.attrs["data-confirm"] == "确定撤销这张工单吗？"
    assert en.attrs["data-confirm"] == "Cancel this ticket?"
    assert zh.has_class("btn--danger")


def test_buttons_without_a_confirm_text_submit_straight_away() -> None:
    card = card_of(ticket(Status.ASSIGNED, "li.lei"))
    assert "data-confirm" not in card.one("button", data_action="accept").attrs


def test_reassign_lists_the_teams_people_but_the_assignee_after_an_empty_placeholder() -> None:
    select = card_of(ticket(Status.ASSIGNED, "li.lei")).one("select", data_action="assign")
    options = [(o.attrs["value"], o.text) for o in select.all("option")]
    assert options[0] == ("", "转派…")
    assert ("li.lei", "李雷") not in options
    assert ("alice", "爱丽丝") in options


def test_priority_select_offers_every_priority_in_english() -> None:
    select = card_of(ticket(Status.ASSIGNED, "li.lei"), "en").one(
        "select", data_action="set_priority"
    )
    assert [o.text for o in select.all("option")] == [
        "Priority…",
        "Urgent",
        "High",
        "Normal",
        "Low",
    ]


def test_comment_box_is_a_form_with_a_value_input() -> None:
    form = card_of(ticket(Status.NEW)).one("form", data_action="comment")
    box = form.one("input", name="value")
    assert box.attrs["placeholder"] == "评论…"
    assert box.attrs["maxlength"] == "10000"
    assert form.one("button").text == "评论"
    # the attach button is drawn: an emoji shows as an empty box where no emoji font is installed
    attach = form.one("label", class_="btn btn--default card__attach")
    assert attach.one("svg").attrs["aria-hidden"] == "true" and "📎" not in attach.text


def test_card_without_description_has_no_body_and_status_is_not_repeated_as_a_field() -> None:
    card = card_of(ticket(Status.NEW))
    assert not classes(card, "card__body")
    assert "状态" not in [dt.text for dt in card.all("dt")]
    assert "优先级" in [dt.text for dt in card.all("dt")]


def test_card_speaks_english_when_built_for_english() -> None:
    card = card_of(ticket(Status.ASSIGNED, "li.lei", fields={"category": "vpn"}), "en")
    assert card.attrs["lang"] == "en"
    assert classes(card, "card__status")[0].text == "Assigned"
    labels = {dt.text: dd.text for dt, dd in zip(card.all("dt"), card.all("dd"), strict=True)}
    assert labels["Assignee"] == "Li Lei"
    assert labels["Category"] == "VPN"


def test_reassign_without_anyone_to_choose_is_left_out() -> None:
    card = card_of(ticket(Status.ASSIGNED, "li.lei", team_id=None))
    assert "assign" not in actions(card)


# ------------------------------------------------------------------------------ form


def form_of(
    locale: Locale = "zh-CN",
    prefill: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Node:
    return parse(render_form(IT, locale, prefill or {}, errors or {}, WHO)).one("form")


def row(form: Node, name: str) -> Node:
    return next(n for n in form.walk() if n.attrs.get("data-field") == name)


def test_form_names_its_ticket_type_and_has_title_description_and_submit() -> None:
    form = form_of()
    assert form.has_class("ticket-form")
    assert form.attrs["data-type"] == "it"
    assert form.one("input", name="title").attrs["maxlength"] == "200"
    assert form.all("textarea", name="description")
    assert form.one("button", type="submit").text == "提交"
    assert "IT 支持" in classes(form, "ticket-form__heading")[0].text


def test_required_fields_are_marked_and_optional_ones_are_not() -> None:
    form = form_of()
    for name in ("title", "category", "approver"):
        assert classes(row(form, name), "form-required"), name
    for name in ("description", "amount", "systems"):
        assert not classes(row(form, name), "form-required"), name
    assert "required" in form.one("select", name="category").attrs


def test_each_error_appears_beside_its_field() -> None:
    form = form_of(errors={"category": "此项为必填", "amount": "不能大于 5000"})
    assert row(form, "category").has_class("form-row--error")
    assert classes(row(form, "category"), "form-error")[0].text == "此项为必填"
    assert classes(row(form, "amount"), "form-error")[0].text == "不能大于 5000"
    assert not classes(row(form, "title"), "form-error")
    assert classes(form, "ticket-form__errors")


def test_an_error_for_no_known_field_is_still_shown_at_the_top() -> None:
    form = form_of(errors={"colour": "it has no field 'colour'"})
    assert "it has no field 'colour'" in classes(form, "ticket-form__errors")[0].text


def test_controls_match_field_kinds_and_limits() -> None:
    form = form_of()
    amount = form.one("input", name="amount")
    assert (amount.attrs["type"], amount.attrs["min"], amount.attrs["max"]) == (
        "number",
        "0",
        "5000",
    )
    assert form.one("input", name="needed_by").attrs["type"] == "date"
    assert form.one("input", name="asset").attrs["maxlength"] == "20"
    assert form.all("textarea", name="details")
    boxes = form.all("input", name="systems")
    assert [b.attrs["type"] for b in boxes] == ["checkbox", "checkbox"]
    assert [b.attrs["value"] for b in boxes] == ["mail", "erp"]


def test_select_and_person_fields_offer_their_options_after_a_placeholder() -> None:
    form = form_of()
    category = [
        (o.attrs["value"], o.text) for o in form.one("select", name="category").all("option")
    ]
    assert category == [("", "请选择…"), ("vpn", "VPN"), ("laptop", "笔记本")]
    people = [o.attrs["value"] for o in form.one("select", name="approver").all("option")]
    assert people == ["", "li.lei", "han.meimei", "alice"]


def test_prefill_puts_values_back_into_every_kind_of_control() -> None:
    form = form_of(
        prefill={
            "title": "VPN 报错",
            "description": "昨天开始\n一直这样",
            "category": "laptop",
            "amount": "1200",
            "systems": "mail, erp",
            "needed_by": "2026-03-01",
            "approver": "alice",
        }
    )
    assert form.one("input", name="title").attrs["value"] == "VPN 报错"
    assert form.one("textarea", name="description").text == "昨天开始\n一直这样"
    assert "selected" in form.one("option", value="laptop").attrs
    assert "selected" not in form.one("option", value="vpn").attrs
    assert form.one("input", name="amount").attrs["value"] == "1200"
    assert all("checked" in b.attrs for b in form.all("input", name="systems"))
    assert form.one("input", name="needed_by").attrs["value"] == "2026-03-01"
    approver = form.one("select", name="approver")
    assert [o.attrs["value"] for o in approver.all("option") if "selected" in o.attrs] == ["alice"]


def test_prefill_accepts_a_list_for_multi_select() -> None:
    html = render_form(IT, "en", {"systems": ["erp"]}, {}, WHO)
    boxes = parse(html).all("input", name="systems")
    assert ["checked" in b.attrs for b in boxes] == [False, True]


def test_hostile_prefill_labels_and_errors_render_as_plain_text() -> None:
    evil_type = TicketType(
        "x",
        "X",
        Text(HOSTILE, HOSTILE),
        fields=(
            FieldSpec(
                "f",
                FieldKind.SELECT,
                Text(HOSTILE, HOSTILE),
                options=(Option('"><script>', Text(HOSTILE, HOSTILE)),),
                help=Text(HOSTILE, HOSTILE),
            ),
        ),
    )
    html = render_form(
        evil_type,
        "en",
        {"title": HOSTILE, "description": f"</textarea>{HOSTILE}"},
        {"f": HOSTILE, "title": HOSTILE},
        [('"><img src=x>', HOSTILE)],
    )
    form = parse(html).one("form")
    assert not form.all("script")
    assert not form.all("img")
    assert form.one("input", name="title").attrs["value"] == HOSTILE
    assert form.one("textarea", name="description").text == f"</textarea>{HOSTILE}"
    assert form.one("option", value='"><script>').text == HOSTILE
    assert classes(row(form, "f"), "form-error")[0].text == HOSTILE


@pytest.mark.parametrize(
    ("locale", "note", "submit", "title"),
    [
        (
            "zh-CN",
            "提交后在工单卡片上添加附件：点评论框旁的回形针按钮（添加附件），"
            "或把图片直接粘贴到评论框。",
            "提交",
            "标题",
        ),
        (
            "en",
            "Attach files once the ticket is open: on its card, use the paperclip button"
            " (Attach a file) by the comment box, or paste an image into the box.",
            "Submit",
            "Title",
        ),
    ],
)
def test_form_speaks_the_chosen_language_and_says_how_the_web_chat_takes_files(
    locale: Locale, note: str, submit: str, title: str
) -> None:
    form = form_of(locale)
    # the card's comment box takes files (its paperclip button is titled "Attach a file")
    assert classes(row(form, "screenshot"), "form-note")[0].text == note
    assert "REST" not in note and "邮件" not in note
    assert not form.all("input", type="file")
    assert form.one("button", type="submit").text == submit
    assert classes(row(form, "title"), "form-label")[0].text.startswith(title)
    assert form.attrs["lang"] == locale


def test_labels_use_the_chosen_language() -> None:
    assert classes(row(form_of("en"), "category"), "form-label")[0].text.startswith("Category")
    assert classes(row(form_of("zh-CN"), "category"), "form-label")[0].text.startswith("类别")
    assert [o.text for o in form_of("en").one("select", name="category").all("option")][
        2
    ] == "Laptop"


def test_the_edit_form_says_the_card_takes_files() -> None:
    edit = EditTarget("IT-1", 3, "normal", (("it", IT.name),))
    en = parse(render_form(IT, "en", {}, {}, WHO, edit)).one("form")
    zh = parse(render_form(IT, "zh-CN", {}, {}, WHO, edit)).one("form")

    assert classes(row(en, "screenshot"), "form-note")[0].text == (
        "Attach files on the ticket's card: the paperclip button (Attach a file) by its comment"
        " box, or paste an image into the box."
    )
    assert classes(row(zh, "screenshot"), "form-note")[0].text == (
        "在工单卡片上添加附件：点评论框旁的回形针按钮（添加附件），或把图片直接粘贴到评论框。"
    )
