"""core Card and TicketType -> HTML fragments for the built-in web chat.

The browser inserts these fragments as HTML, so this module is the only place where ticket text
meets markup: every string that came from a person goes through html.escape, attributes included.
The page's script relies on the data-* attributes documented on render_card.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from html import escape

from core.card import ActionKind, Card, CardAction, CardField, CardLink
from core.forms import FieldKind, FieldSpec, TicketType
from core.i18n import Locale, Text, t
from core.ticket import Priority

_TEXT_MAX = 500
_LONG_TEXT_MAX = 10_000
_TITLE_MAX = 200
_COMMENT_MAX = 10_000

# Words only the web page needs; the domain's own vocabulary stays in core.i18n.
_UI: dict[str, Text] = {
    "heading": Text("New ticket · {type}", "新建工单 · {type}"),
    "edit_heading": Text("Edit {ticket}", "修改 {ticket}"),
    "type": Text("Type", "类型"),
    "priority": Text("Priority", "优先级"),
    "save": Text("Save", "保存"),
    "title": Text("Title", "标题"),
    "title_hint": Text("One line that sums it up", "一句话概括问题"),
    "description": Text("Description", "描述"),
    "description_hint": Text("What happened, and what you need", "发生了什么，需要什么帮助"),
    "required": Text("required", "必填"),
    "choose": Text("Choose…", "请选择…"),
    "submit": Text("Submit", "提交"),
    "fix_below": Text("Please fix the fields marked below.", "请修正下面标出的字段。"),
    # files reach a ticket from its card (files.py), not through the form: say how
    "attach_note": Text(
        "Attach files once the ticket is open: on its card, use the paperclip button"
        " ({attach}) by the comment box, or paste an image into the box.",
        "提交后在工单卡片上添加附件：点评论框旁的回形针按钮（{attach}），或把图片直接粘贴到评论框。",
    ),
    "attach_note_edit": Text(
        "Attach files on the ticket's card: the paperclip button ({attach}) by its comment box,"
        " or paste an image into the box.",
        "在工单卡片上添加附件：点评论框旁的回形针按钮（{attach}），或把图片直接粘贴到评论框。",
    ),
}


# drawn, not an emoji: a system without an emoji font showed the button empty
_PAPERCLIP = (
    '<svg aria-hidden="true" viewBox="0 0 24 24" width="16" height="16" fill="none" '
    'stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">'
    '<path d="M21 11.5l-8.6 8.6a5 5 0 0 1-7.1-7.1l8.6-8.6a3.3 3.3 0 0 1 4.7 4.7l-8.6 8.6'
    'a1.7 1.7 0 0 1-2.4-2.4l7.9-7.9"/></svg>'
)


def _ui(key: str, locale: Locale, **params: str) -> str:
    text = _UI[key].get(locale)
    return text.format(**params) if params else text


def _attrs(**attrs: str | int | float | bool | None) -> str:
    """Render attributes, escaped; False/None are dropped, True is a bare boolean attribute.

    A trailing underscore lets Python keywords through (class_ -> class) and a single
    underscore becomes a dash (data_action -> data-action).
    """
    out: list[str] = []
    for raw_name, value in attrs.items():
        if value is None or value is False:
            continue
        name = raw_name.rstrip("_").replace("_", "-")
        if value is True:
            out.append(f" {name}")
        else:
            out.append(f' {name}="{escape(_num(value), quote=True)}"')
    return "".join(out)


def _num(value: str | int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---------------------------------------------------------------------------------------- card


def render_card(card: Card) -> str:
    """One ticket card as an <article>; data-ticket/data-version let the page update it in place."""
    parts = [
        f"<article{_attrs(class_=f'card card--{card.colour.value}', data_ticket=card.ticket_key, data_version=card.version, data_status=card.status.value, lang=card.locale)}>",
        '<header class="card__header">'
        f'<span class="card__key">{escape(card.ticket_key)}</span> '
        f'<span class="card__title">{escape(card.title)}</span> '
        f'<span class="card__status">{escape(card.status_label)}</span>'
        "</header>",
    ]
    fields = _shown_fields(card)
    if fields:
        parts.append('<dl class="card__fields">')
        parts.extend(
            f'<div class="card__field"><dt>{escape(f.label)}</dt><dd>{_value_html(f)}</dd></div>'
            for f in fields
        )
        parts.append("</dl>")
    if card.body.strip():
        parts.append(f'<p class="card__body">{escape(card.body)}</p>')
    if card.source is not None:
        parts.append(_link_line(card.source))
    if card.actions or card.editable:
        parts.append('<div class="card__actions">')
        parts.extend(_action(a, card.locale) for a in card.actions if a.kind != ActionKind.INPUT)
        if card.editable:
            label = t("action.edit", card.locale)
            parts.append(
                f"<button{_attrs(type='button', class_='btn btn--default', data_edit=card.ticket_key)}>"
                f"{escape(label)}</button>"
            )
        parts.extend(
            _action(a, card.locale, card.notes) for a in card.actions if a.kind == ActionKind.INPUT
        )
        parts.append("</div>")
    parts.append("</article>")
    return "".join(parts)


def _value_html(field: CardField) -> str:
    """A field's value; an instant is a <time> the page shows in the viewer's time zone."""
    if field.at is None:
        return escape(field.value)
    stamp = field.at.astimezone(UTC).isoformat(timespec="seconds")
    return f"<time{_attrs(datetime=stamp, data_local='datetime')}>{escape(field.value)}</time>"


def _link_line(link: CardLink) -> str:
    """A small line with one link that opens in a new tab without handing it this page."""
    anchor = _attrs(href=link.url, target="_blank", rel="noopener")
    return (
        f'<p class="card__source">{escape(link.before)}'
        f"<a{anchor}>{escape(link.text)}</a>{escape(link.after)}</p>"
    )


def _shown_fields(card: Card) -> list[CardField]:
    # The header already shows the status as a coloured pill; a second "Status" row is noise.
    status_label = t("field.status", card.locale)
    return [
        f for f in card.fields if not (f.label == status_label and f.value == card.status_label)
    ]


def _action(action: CardAction, locale: Locale, notes: bool = False) -> str:
    if action.kind == ActionKind.BUTTON:
        return (
            f"<button{_attrs(type='button', class_=f'btn btn--{action.style.value}', data_action=action.id.value, data_confirm=action.confirm)}>"
            f"{escape(action.label)}</button>"
        )
    if action.kind in (ActionKind.SELECT, ActionKind.PERSON_SELECT):
        if not action.options:
            return ""  # nobody to choose from: an empty dropdown only misleads
        options = "".join(
            f"<option{_attrs(value=value)}>{escape(label)}</option>"
            for value, label in action.options
        )
        return (
            f"<select{_attrs(class_='card__select', data_action=action.id.value, aria_label=action.label)}>"
            f'<option value="">{escape(action.label)}…</option>{options}</select>'
        )
    attach = t("action.attach", locale)
    return (
        f"<form{_attrs(class_='card__comment', data_action=action.id.value)}>"
        f"<input{_attrs(name='value', type='text', placeholder=f'{action.label}…', maxlength=_COMMENT_MAX, aria_label=action.label, autocomplete='off')}>"
        f"<label{_attrs(class_='btn btn--default card__attach', title=attach)}>"
        f"{_PAPERCLIP}"
        f"<input{_attrs(type='file', class_='visually-hidden', data_attach=True, aria_label=attach, multiple=True)}>"
        "</label>"
        + (
            f'<label class="card__internal"><input type="checkbox" name="internal">'
            f"<span>{escape(t('comment.internal', locale))}</span></label>"
            if notes
            else ""
        )
        + f'<button type="submit" class="btn btn--default">{escape(action.label)}</button>'
        "</form>"
    )


# ---------------------------------------------------------------------------------------- form


@dataclass(frozen=True)
class EditTarget:
    """The ticket an edit form changes: its key, the version the editor saw, its priority,
    and the types it may become (id, name)."""

    key: str
    version: int
    priority: str
    types: tuple[tuple[str, Text], ...]


def render_form(
    ttype: TicketType,
    locale: Locale,
    prefill: Mapping[str, str | Sequence[str]],
    errors: Mapping[str, str],
    people: Iterable[tuple[str, str]] = (),
    edit: EditTarget | None = None,
) -> str:
    """The web form for a ticket type, with prefilled values and one inline error per field.

    `people` is (person id, display name) for person fields. Errors keyed by something that is
    not a field (nor title/description) are listed at the top so none is silently lost.
    """
    people = tuple(people)
    known = {"title", "description", "priority", "type", *(f.id for f in ttype.fields)}
    form_attrs = _attrs(
        class_="ticket-form",
        data_type=ttype.id,
        data_edit=edit.key if edit else None,
        data_version=edit.version if edit else None,
        lang=locale,
        novalidate=True,
    )
    heading = (
        _ui("edit_heading", locale, ticket=edit.key)
        if edit
        else _ui("heading", locale, type=ttype.name.get(locale))
    )
    parts = [
        f"<form{form_attrs}>",
        f'<h3 class="ticket-form__heading">{escape(heading)}</h3>',
    ]
    if edit is None and ttype.description is not None and ttype.description.get(locale):
        parts.append(f'<p class="ticket-form__intro">{escape(ttype.description.get(locale))}</p>')
    if errors:
        stray = [msg for key, msg in errors.items() if key not in known]
        parts.append(
            '<div class="ticket-form__errors" role="alert">'
            f"<p>{escape(_ui('fix_below', locale))}</p>"
            + "".join(f"<p>{escape(msg)}</p>" for msg in stray)
            + "</div>"
        )
    title = _value(prefill, "title")
    parts.append(
        _row(
            "title",
            "text",
            _ui("title", locale),
            True,
            locale,
            errors.get("title"),
            f"<input{_attrs(type='text', name='title', value=title, maxlength=_TITLE_MAX, required=True, placeholder=_ui('title_hint', locale), autocomplete='off')}>",
        )
    )
    parts.append(
        _row(
            "description",
            "long_text",
            _ui("description", locale),
            False,
            locale,
            errors.get("description"),
            f"<textarea{_attrs(name='description', rows=3, maxlength=_LONG_TEXT_MAX, placeholder=_ui('description_hint', locale))}>"
            f"{escape(_value(prefill, 'description'))}</textarea>",
        )
    )
    if edit is not None:
        parts.append(_edit_rows(edit, ttype.id, locale, errors))
    for spec in ttype.fields:
        parts.append(_field(spec, locale, prefill, errors.get(spec.id), people, edit is not None))
    submit = _ui("save" if edit else "submit", locale)
    parts.append(
        '<div class="ticket-form__footer">'
        f'<button type="submit" class="btn btn--primary">{escape(submit)}</button>'
        "</div></form>"
    )
    return "".join(parts)


def _edit_rows(edit: EditTarget, type_id: str, locale: Locale, errors: Mapping[str, str]) -> str:
    """Priority and type: what an edit may change beyond the form's own fields."""
    priorities = [(p.value, t(f"priority.{p.value}", locale)) for p in Priority]
    types = [(tid, name.get(locale)) for tid, name in edit.types]
    return _row(
        "priority",
        "select",
        _ui("priority", locale),
        True,
        locale,
        errors.get("priority"),
        _select("priority", priorities, {edit.priority}, True, locale),
    ) + _row(
        "type",
        "select",
        _ui("type", locale),
        True,
        locale,
        errors.get("type"),
        _select("type", types, {type_id}, True, locale),
    )


def _value(prefill: Mapping[str, str | Sequence[str]], key: str) -> str:
    raw = prefill.get(key, "")
    return raw if isinstance(raw, str) else ", ".join(raw)


def _values(prefill: Mapping[str, str | Sequence[str]], key: str) -> set[str]:
    raw = prefill.get(key, "")
    items = raw.split(",") if isinstance(raw, str) else raw
    return {item.strip() for item in items if item.strip()}


def _row(
    name: str,
    kind: str,
    label: str,
    required: bool,
    locale: Locale,
    error: str | None,
    control: str,
    help_text: str | None = None,
    group: bool = False,
) -> str:
    classes = "form-row form-row--error" if error else "form-row"
    marker = (
        f'<abbr class="form-required" title="{escape(_ui("required", locale))}">*</abbr>'
        if required
        else ""
    )
    caption = f'<span class="form-label">{escape(label)}{marker}</span>'
    extra = ""
    if help_text:
        extra += f'<small class="form-help">{escape(help_text)}</small>'
    if error:
        extra += f'<small class="form-error" role="alert">{escape(error)}</small>'
    attrs = _attrs(class_=classes, data_field=name, data_kind=kind, data_required=required)
    if group:
        # A group of checkboxes has no single control for a <label> to point at.
        legend = f'<legend class="form-label">{escape(label)}{marker}</legend>'
        return f"<fieldset{attrs}>{legend}{control}{extra}</fieldset>"
    return f"<label{attrs}>{caption}{control}{extra}</label>"


def _field(
    spec: FieldSpec,
    locale: Locale,
    prefill: Mapping[str, str | Sequence[str]],
    error: str | None,
    people: tuple[tuple[str, str], ...],
    editing: bool = False,
) -> str:
    label = spec.label.get(locale)
    help_text = spec.help.get(locale) if spec.help is not None else None
    value = _value(prefill, spec.id)
    req = spec.required
    control: str
    group = False
    if spec.kind == FieldKind.TEXT:
        limit = spec.max if spec.max is not None else _TEXT_MAX
        control = f"<input{_attrs(type='text', name=spec.id, value=value, required=req, minlength=spec.min, maxlength=limit)}>"
    elif spec.kind == FieldKind.LONG_TEXT:
        limit = spec.max if spec.max is not None else _LONG_TEXT_MAX
        control = (
            f"<textarea{_attrs(name=spec.id, rows=3, required=req, minlength=spec.min, maxlength=limit)}>"
            f"{escape(value)}</textarea>"
        )
    elif spec.kind == FieldKind.NUMBER:
        control = f"<input{_attrs(type='number', name=spec.id, value=value, required=req, min=spec.min, max=spec.max, step='any', inputmode='decimal')}>"
    elif spec.kind == FieldKind.SELECT:
        options = [(o.value, o.label.get(locale)) for o in spec.options]
        control = _select(spec.id, options, {value}, req, locale)
    elif spec.kind == FieldKind.PERSON:
        control = _select(spec.id, list(people), {value}, req, locale)
    elif spec.kind == FieldKind.MULTI_SELECT:
        chosen = _values(prefill, spec.id)
        group = True
        control = (
            '<div class="form-checks">'
            + "".join(
                f'<label class="form-check"><input{_attrs(type="checkbox", name=spec.id, value=o.value, checked=o.value in chosen)}>'
                f"<span>{escape(o.label.get(locale))}</span></label>"
                for o in spec.options
            )
            + "</div>"
        )
    elif spec.kind == FieldKind.DATE:
        control = f"<input{_attrs(type='date', name=spec.id, value=value, required=req)}>"
    else:
        # Files do not travel over the chat's WebSocket: the ticket's card takes them (its
        # paperclip button or a pasted image), so the form says how.
        note = _ui(
            "attach_note_edit" if editing else "attach_note",
            locale,
            attach=t("action.attach", locale),
        )
        control = f'<p class="form-note">{escape(note)}</p>'
    return _row(
        spec.id, spec.kind.value, label, req, locale, error, control, help_text, group=group
    )


def _select(
    name: str, options: Sequence[tuple[str, str]], chosen: set[str], required: bool, locale: Locale
) -> str:
    rendered = "".join(
        f"<option{_attrs(value=value, selected=value in chosen)}>{escape(label)}</option>"
        for value, label in options
    )
    return (
        f"<select{_attrs(name=name, required=required)}>"
        f'<option value="">{escape(_ui("choose", locale))}</option>{rendered}</select>'
    )
