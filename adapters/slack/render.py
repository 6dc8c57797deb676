"""core.Card -> Block Kit message, TicketType -> modal, and modal state -> form values.

Pure functions. Everything user-typed goes through adapters.slack.escape; every Block Kit limit
is clipped here so Slack never answers `invalid_blocks`.
https://docs.slack.dev/reference/block-kit/blocks
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from adapters.kit.buttons import button_value
from adapters.slack.escape import clip, clip_mrkdwn, escape_mrkdwn
from adapters.slack.types import (
    ACTION_PREFIX,
    FORM_CALLBACK_ID,
    INPUT_ACTION_ID,
    Block,
    ErrorsResponse,
    ModalView,
    SlackMessage,
)
from core.card import ActionKind, Card, CardAction, CardLink, Colour, Style
from core.errors import FormInvalid
from core.forms import FieldKind, FieldSpec, TicketType
from core.i18n import Locale, Text
from core.people import Person

MAX_BLOCKS = 50
MAX_MODAL_BLOCKS = 100
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
FIELDS_PER_SECTION = 10
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
ELEMENTS_PER_ACTIONS = 25
OPTIONS_MAX = 100
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
PLACEHOLDER_MAX = 150
CONFIRM_TITLE_MAX = 100
CONFIRM_TEXT_MAX = 300
CONFIRM_BUTTON_MAX = 30
MODAL_TITLE_MAX = 24
LABEL_MAX = 2000
INPUT_MAX_LENGTH = 3000
PRIVATE_METADATA_MAX = 3000
FALLBACK_TEXT_MAX = 3000
TITLE_MAX_LENGTH = 200  # core.forms validates titles to 200 characters

STATUS_DOT: dict[Colour, str] = {
    Colour.GREY: ":white_circle:",
    Colour.BLUE: ":large_blue_circle:",
    Colour.INDIGO: ":large_purple_circle:",
    Colour.ORANGE: ":large_orange_circle:",
    Colour.YELLOW: ":large_yellow_circle:",
    Colour.GREEN: ":large_green_circle:",
    Colour.RED: ":red_circle:",
}

# Slack-only labels (the modal's chrome); core's catalogue holds the ticket vocabulary.
_LABELS = {
    "title": Text("Title", "标题"),
    "description": Text("Description", "描述"),
    "submit": Text("Submit", "提交"),
    "close": Text("Cancel", "取消"),
    "deny": Text("Go back", "返回"),
    "choose": Text("Choose…", "请选择…"),
    "attachments": Text(
        "{label}: attach files in the ticket's thread after submitting.",
        "{label}：提交后请在工单的消息串中上传附件。",
    ),
}


def plain(text: str, limit: int) -> Block:
    """A plain_text object: Slack shows it literally, so it is only clipped, never escaped."""
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": True}


def mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text}


# --- cards -----------------------------------------------------------------------------------


def render_card(card: Card) -> SlackMessage:
    """The ticket card as chat.postMessage / chat.update arguments."""
    heading = clip_mrkdwn(card.heading, SECTION_TEXT_MAX - 2)
    status = f"{STATUS_DOT[card.colour]} {clip_mrkdwn(card.status_label, 200)}"
    blocks: list[Block] = [
        {"type": "section", "text": mrkdwn(f"*{heading}*")},
        {"type": "context", "elements": [mrkdwn(status)]},
    ]
    actions = _actions_blocks(card)
    body = [_section(clip_mrkdwn(card.body, SECTION_TEXT_MAX))] if card.body.strip() else []
    source = _link_context(card.source)
    room = MAX_BLOCKS - len(blocks) - len(actions) - len(body) - len(source)
    blocks += _field_sections(card)[: max(room, 0)]
    blocks += body + source + actions
    fallback = clip_mrkdwn(f"{card.heading} · {card.status_label}", FALLBACK_TEXT_MAX)
    return {"text": fallback, "blocks": blocks[:MAX_BLOCKS]}


def _link_context(link: CardLink | None) -> list[Block]:
    """A quiet context line with one mrkdwn link, `<url|text>` (core admits only safe URLs)."""
    if link is None:
        return []
    # `&` is the one markup character a safe URL may hold; Slack decodes the entity in the link
    target = escape_mrkdwn(link.url)
    words = clip_mrkdwn(link.text, 200)
    line = f"{clip_mrkdwn(link.before, 200)}<{target}|{words}>{clip_mrkdwn(link.after, 200)}"
    return [{"type": "context", "elements": [mrkdwn(line)]}]


def _section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(text)}


def _field_sections(card: Card) -> list[Block]:
    texts = [
        clip_mrkdwn(f.label, 200).join(("*", "*\n")) + clip_mrkdwn(f.value or "—", 1500)
        for f in card.fields
    ]
    return [
        {"type": "section", "fields": [mrkdwn(t) for t in texts[i : i + FIELDS_PER_SECTION]]}
        for i in range(0, len(texts), FIELDS_PER_SECTION)
    ]


def _actions_blocks(card: Card) -> list[Block]:
    elements = [el for action in card.actions if (el := _element(card, action)) is not None]
    base = f"tkt:{card.ticket_key}:{card.version}"
    chunks = [
        elements[i : i + ELEMENTS_PER_ACTIONS]
        for i in range(0, len(elements), ELEMENTS_PER_ACTIONS)
    ]
    # block_id must be unique within a message, and new per version so Slack re-renders selects
    return [
        {"type": "actions", "block_id": base if n == 0 else f"{base}:{n}", "elements": chunk}
        for n, chunk in enumerate(chunks)
    ]


def _element(card: Card, action: CardAction) -> Block | None:
    action_id = f"{ACTION_PREFIX}{action.id.value}"
    if action.kind in (ActionKind.SELECT, ActionKind.PERSON_SELECT):
        options = _options(action.options)
        if not options:
            return None  # Slack rejects a select without options
        return {
            "type": "static_select",
            "action_id": action_id,
            "placeholder": plain(action.label, PLACEHOLDER_MAX),
            "options": options,
        }
    button: Block = {
        "type": "button",
        "action_id": action_id,
        "text": plain(action.label, BUTTON_TEXT_MAX),
        "value": clip(button_value(card.ticket_key, card.version), BUTTON_VALUE_MAX),
    }
    if action.style in (Style.PRIMARY, Style.DANGER):
        button["style"] = action.style.value
    if action.confirm:
        button["confirm"] = _confirm(action, card.locale)
    return button


def _confirm(action: CardAction, locale: Locale) -> Block:
    dialog: Block = {
        "title": plain(action.label, CONFIRM_TITLE_MAX),
        "text": plain(action.confirm or "", CONFIRM_TEXT_MAX),
        "confirm": plain(action.label, CONFIRM_BUTTON_MAX),
        "deny": plain(_LABELS["deny"].get(locale), CONFIRM_BUTTON_MAX),
    }
    if action.style == Style.DANGER:
        dialog["style"] = "danger"
    return dialog


def _options(pairs: Iterable[tuple[str, str]]) -> list[Block]:
    return [
        {"text": plain(label, OPTION_TEXT_MAX), "value": value}
        for value, label in pairs
        if value and len(value) <= OPTION_VALUE_MAX
    ][:OPTIONS_MAX]


# --- forms -----------------------------------------------------------------------------------


def render_form(
    ttype: TicketType,
    locale: Locale,
    people: Iterable[Person],
    prefill: Mapping[str, Any],
    private_metadata: str,
) -> ModalView:
    """The ticket type's form as a modal. Block ids: "title", "description", then field ids."""
    if len(private_metadata) > PRIVATE_METADATA_MAX:
        raise ValueError(
            f"private_metadata is {len(private_metadata)} characters; Slack allows 3000"
        )
    person_options = _options((p.id, p.display(locale)) for p in people)
    blocks: list[Block] = [
        _input(
            "title",
            _LABELS["title"].get(locale),
            _text_input(prefill.get("title"), False, TITLE_MAX_LENGTH, None),
            optional=False,
        ),
        _input(
            "description",
            _LABELS["description"].get(locale),
            _text_input(prefill.get("description"), True, INPUT_MAX_LENGTH, None),
            optional=True,
        ),
    ]
    for spec in ttype.fields:
        blocks.append(_field_block(spec, locale, person_options, prefill.get(spec.id)))
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK_ID,
        "title": plain(ttype.name.get(locale), MODAL_TITLE_MAX),
        "submit": plain(_LABELS["submit"].get(locale), MODAL_TITLE_MAX),
        "close": plain(_LABELS["close"].get(locale), MODAL_TITLE_MAX),
        "private_metadata": private_metadata,
        "blocks": blocks[:MAX_MODAL_BLOCKS],
    }


def _field_block(spec: FieldSpec, locale: Locale, people: list[Block], value: Any) -> Block:
    label = spec.label.get(locale)
    if spec.kind == FieldKind.ATTACHMENT:
        note = _LABELS["attachments"].get(locale).format(label=label)
        return {"type": "context", "block_id": spec.id, "elements": [plain(note, 2000)]}
    element = _field_element(spec, locale, people, value)
    block = _input(spec.id, label, element, optional=not spec.required)
    if spec.help is not None:
        block["hint"] = plain(spec.help.get(locale), LABEL_MAX)
    return block


def _field_element(spec: FieldSpec, locale: Locale, people: list[Block], value: Any) -> Block:
    kind = spec.kind
    if kind in (FieldKind.TEXT, FieldKind.LONG_TEXT):
        limit = int(spec.max) if spec.max is not None else INPUT_MAX_LENGTH
        minimum = int(spec.min) if spec.min is not None else None
        return _text_input(
            value, kind == FieldKind.LONG_TEXT, min(limit, INPUT_MAX_LENGTH), minimum
        )
    if kind == FieldKind.NUMBER:
        element: Block = {"type": "number_input", "is_decimal_allowed": True}
        if spec.min is not None:
            element["min_value"] = _num(spec.min)
        if spec.max is not None:
            element["max_value"] = _num(spec.max)
        if isinstance(value, int | float | str) and not isinstance(value, bool) and str(value):
            element["initial_value"] = str(value)
        return element
    if kind == FieldKind.DATE:
        element = {"type": "datepicker"}
        if isinstance(value, str) and value:
            element["initial_date"] = value
        return element
    if kind == FieldKind.PERSON:
        options = people
    else:
        options = _options((o.value, o.label.get(locale)) for o in spec.options)
    multi = kind == FieldKind.MULTI_SELECT
    element = {
        "type": "multi_static_select" if multi else "static_select",
        "placeholder": plain(_LABELS["choose"].get(locale), PLACEHOLDER_MAX),
        "options": options,
    }
    chosen = [value] if isinstance(value, str) else list(value or ())
    initial = [o for o in options if o["value"] in chosen]
    if multi:
        if spec.max is not None:
            element["max_selected_items"] = int(spec.max)
        if initial:
            element["initial_options"] = initial
    elif initial:
        element["initial_option"] = initial[0]
    return element


def _text_input(value: Any, multiline: bool, max_length: int, min_length: int | None) -> Block:
    element: Block = {"type": "plain_text_input", "multiline": multiline, "max_length": max_length}
    if min_length:
        element["min_length"] = min_length
    if isinstance(value, str) and value:
        element["initial_value"] = value[:max_length]
    return element


def _input(block_id: str, label: str, element: Block, *, optional: bool) -> Block:
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, LABEL_MAX),
        "optional": optional,
        "element": {**element, "action_id": INPUT_ACTION_ID},
    }


def _num(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else str(n)


def form_values(view_state_values: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """`view.state.values` -> {block_id: value} in the shapes core.forms.validate_fields takes."""
    out: dict[str, Any] = {}
    for block_id, actions in view_state_values.items():
        for state in actions.values():
            out[block_id] = _state_value(state)
    return out


def _state_value(state: Mapping[str, Any]) -> Any:
    kind = state.get("type")
    if kind == "static_select":
        option = state.get("selected_option")
        return option.get("value") if option else None
    if kind in ("multi_static_select", "checkboxes"):
        return [o["value"] for o in state.get("selected_options") or ()]
    if kind == "datepicker":
        return state.get("selected_date")
    if kind == "users_select":
        return state.get("selected_user")
    return state.get("value")


def form_errors(
    exc: FormInvalid, locale: Locale, block_ids: Collection[str] = ()
) -> ErrorsResponse:
    """The ack that shows core's validation errors next to the fields in the modal.

    Errors about something that has no input block (an unknown type, say) are shown under the
    title, because Slack rejects `errors` keyed by a block the view does not contain.
    """
    errors: dict[str, str] = {}
    for err in exc.errors:
        target = err.field if not block_ids or err.field in block_ids else "title"
        message = err.text(locale)
        text = f"{errors[target]}; {message}" if target in errors else message
        errors[target] = clip(text, 150)
    return {"response_action": "errors", "errors": errors}
