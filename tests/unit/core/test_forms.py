"""What a form accepts and the error each field shows when it does not."""

from __future__ import annotations

import pytest

from core.errors import FieldError, FormInvalid
from core.forms import FieldKind, FieldSpec, Option, TicketType, validate_fields, validate_title
from core.i18n import Text
from core.people import StaticDirectory

from .fakes import EVERYONE, IT_TYPE, LAPTOP, MONITOR, VPN

DIRECTORY = StaticDirectory(EVERYONE)


def form(*fields: FieldSpec) -> TicketType:
    return TicketType("f", "F", Text("Form", "表单"), fields=fields)


def spec(kind: FieldKind, **kwargs: object) -> FieldSpec:
    return FieldSpec("x", kind, Text("X"), **kwargs)  # type: ignore[arg-type]


def errors(ttype: TicketType, values: dict[str, object]) -> list[FieldError]:
    with pytest.raises(FormInvalid) as err:
        validate_fields(ttype, values, DIRECTORY)
    return err.value.errors


def error(kind: FieldKind, raw: object, **kwargs: object) -> tuple[str, str, str]:
    (only,) = errors(form(spec(kind, **kwargs)), {"x": raw})
    return only.field, only.rule, only.message


def clean(kind: FieldKind, raw: object, **kwargs: object) -> object:
    return validate_fields(form(spec(kind, **kwargs)), {"x": raw}, DIRECTORY)["x"]


# --- title ------------------------------------------------------------------------------------


def test_title_is_trimmed() -> None:
    assert validate_title("  VPN 连不上 ") == "VPN 连不上"


@pytest.mark.parametrize("title", ["", "   ", None, 42])
def test_title_is_required(title: object) -> None:
    with pytest.raises(FormInvalid) as err:
        validate_title(title)
    assert err.value.errors == [FieldError("title", "required", "a title is required")]


def test_title_longer_than_200_characters_is_rejected_with_its_length() -> None:
    with pytest.raises(FormInvalid) as err:
        validate_title("长" * 201)
    assert err.value.errors == [FieldError("title", "max", "at most 200 characters (got 201)")]
    assert err.value.message == "Title: at most 200 characters (got 201)"
    assert err.value.text("zh-CN") == "标题：最多 200 个字符（当前 201 个）"


def test_each_error_names_the_field_by_its_label_in_the_readers_language() -> None:
    ttype = form(
        FieldSpec("assignee", FieldKind.PERSON, Text("Who should do it", "由谁处理")),
        FieldSpec("amount", FieldKind.NUMBER, Text("Amount", "金额"), required=True),
    )
    with pytest.raises(FormInvalid) as err:
        validate_fields(ttype, {"assignee": "nobody"}, DIRECTORY)

    assert err.value.text("zh-CN") == "由谁处理：未知人员 'nobody'；金额：此项必填"
    assert err.value.text("en") == (
        "Who should do it: unknown person 'nobody'; Amount: this field is required"
    )
    assert [e.field for e in err.value.errors] == ["assignee", "amount"]  # ids for programs


def test_a_field_the_form_does_not_have_keeps_its_id() -> None:
    with pytest.raises(FormInvalid) as err:
        validate_fields(IT_TYPE, {"colour": "red"}, DIRECTORY)

    assert err.value.text("zh-CN") == "colour：it 没有字段 'colour'"
    assert err.value.text("en") == "colour: it has no field 'colour'"


# --- required, empty, unknown -----------------------------------------------------------------


@pytest.mark.parametrize("empty", [None, "", "   ", [], ()])
def test_required_field_left_empty_is_reported(empty: object) -> None:
    ttype = form(spec(FieldKind.TEXT, required=True))
    assert errors(ttype, {"x": empty}) == [FieldError("x", "required", "this field is required")]


def test_required_field_missing_is_reported() -> None:
    assert errors(form(spec(FieldKind.NUMBER, required=True)), {})[0].rule == "required"


def test_optional_empty_fields_are_left_out() -> None:
    assert validate_fields(IT_TYPE, {"notes": "  ", "topics": []}, DIRECTORY) == {}


def test_unknown_field_is_reported_by_name() -> None:
    assert errors(IT_TYPE, {"colour": "red"}) == [
        FieldError("colour", "unknown", "it has no field 'colour'")
    ]


def test_every_bad_field_is_reported_at_once() -> None:
    found = errors(IT_TYPE, {"amount": "lots", "device": "phone", "ghost": 1})
    assert [(e.field, e.rule) for e in found] == [
        ("ghost", "unknown"),
        ("device", "options"),
        ("amount", "type"),
    ]


# --- text -------------------------------------------------------------------------------------


def test_text_is_trimmed() -> None:
    assert clean(FieldKind.TEXT, "  hello ") == "hello"


def test_text_shorter_than_min_is_rejected() -> None:
    assert error(FieldKind.TEXT, "ab", min=3) == ("x", "min", "at least 3 characters")


def test_text_longer_than_max_is_rejected() -> None:
    assert error(FieldKind.TEXT, "abcd", max=3) == ("x", "max", "at most 3 characters")


def test_short_text_defaults_to_500_characters() -> None:
    assert clean(FieldKind.TEXT, "a" * 500) == "a" * 500
    assert error(FieldKind.TEXT, "a" * 501)[1:] == ("max", "at most 500 characters")


def test_long_text_defaults_to_10000_characters() -> None:
    assert clean(FieldKind.LONG_TEXT, "a" * 10_000) == "a" * 10_000
    assert error(FieldKind.LONG_TEXT, "a" * 10_001)[1] == "max"


def test_text_must_be_a_string() -> None:
    assert error(FieldKind.TEXT, 12) == ("x", "type", "must be text")


# --- number -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(3, 3), (2.5, 2.5), ("42", 42), (" 1,200 ", 1200), ("0.5", 0.5), (4.0, 4)],
)
def test_number_accepts_numbers_and_numeric_text(raw: object, expected: float) -> None:
    assert clean(FieldKind.NUMBER, raw) == expected


@pytest.mark.parametrize("raw", ["lots", True, [1], "nan", "inf", "1e400", float("nan"), 10**400])
def test_number_rejects_what_is_not_a_finite_number(raw: object) -> None:
    assert error(FieldKind.NUMBER, raw) == ("x", "type", "must be a number")


def test_number_below_min_is_rejected() -> None:
    assert error(FieldKind.NUMBER, -1, min=0) == ("x", "min", "must be at least 0")


def test_number_above_max_is_rejected() -> None:
    assert error(FieldKind.NUMBER, 500.5, max=499.5) == ("x", "max", "must be at most 499.5")


def test_number_on_the_bounds_is_accepted() -> None:
    assert clean(FieldKind.NUMBER, 0, min=0, max=10) == 0
    assert clean(FieldKind.NUMBER, 10, min=0, max=10) == 10


# --- select and multi-select ------------------------------------------------------------------


def test_select_accepts_a_listed_option() -> None:
    assert clean(FieldKind.SELECT, "monitor", options=(LAPTOP, MONITOR)) == "monitor"


@pytest.mark.parametrize("raw", ["phone", 1])
def test_select_rejects_anything_else_listing_the_options(raw: object) -> None:
    assert error(FieldKind.SELECT, raw, options=(LAPTOP, MONITOR)) == (
        "x",
        "options",
        "must be one of laptop, monitor",
    )


def test_multi_select_accepts_a_single_value_and_drops_repeats() -> None:
    options = (LAPTOP, MONITOR, VPN)
    assert clean(FieldKind.MULTI_SELECT, "vpn", options=options) == ["vpn"]
    assert clean(FieldKind.MULTI_SELECT, ("vpn", "laptop", "vpn"), options=options) == [
        "vpn",
        "laptop",
    ]


def test_multi_select_names_the_unknown_options() -> None:
    assert error(FieldKind.MULTI_SELECT, ["vpn", "fax", "pager"], options=(VPN,)) == (
        "x",
        "options",
        "unknown option(s) fax, pager",
    )


@pytest.mark.parametrize("raw", [5, ["vpn", 2]])
def test_multi_select_must_be_a_list_of_options(raw: object) -> None:
    assert error(FieldKind.MULTI_SELECT, raw, options=(VPN,))[1:] == (
        "type",
        "must be a list of options",
    )


def test_multi_select_counts_choices_against_min_and_max() -> None:
    options = (LAPTOP, MONITOR, VPN)
    assert error(FieldKind.MULTI_SELECT, ["vpn"], options=options, min=2)[1:] == (
        "min",
        "choose at least 2",
    )
    assert error(FieldKind.MULTI_SELECT, ["vpn", "laptop"], options=options, max=1)[1:] == (
        "max",
        "choose at most 1",
    )


def test_multi_select_counts_a_repeated_choice_once() -> None:
    options = (LAPTOP, VPN)
    assert clean(FieldKind.MULTI_SELECT, ["vpn", "vpn"], options=options, max=1) == ["vpn"]
    assert error(FieldKind.MULTI_SELECT, ["vpn", "vpn"], options=options, min=2)[1] == "min"


# --- date, person, attachment -----------------------------------------------------------------


def test_date_is_normalised_to_iso_format() -> None:
    assert clean(FieldKind.DATE, " 2026-03-01 ") == "2026-03-01"


@pytest.mark.parametrize("raw", ["2026-02-30", "next friday", 20260301, "2026-03-01T10:00"])
def test_date_must_look_like_a_calendar_date(raw: object) -> None:
    assert error(FieldKind.DATE, raw) == ("x", "type", "must be a date like 2026-03-01")


def test_person_must_exist() -> None:
    assert clean(FieldKind.PERSON, "lilei") == "lilei"
    assert error(FieldKind.PERSON, "ghost") == ("x", "person", "unknown person 'ghost'")
    assert error(FieldKind.PERSON, 7)[1] == "person"


def test_attachments_are_ids_counted_against_max() -> None:
    assert clean(FieldKind.ATTACHMENT, "att-1") == ["att-1"]
    assert clean(FieldKind.ATTACHMENT, ("a", "b")) == ["a", "b"]
    assert error(FieldKind.ATTACHMENT, ["a", "b"], max=1)[1:] == ("max", "choose at most 1")


def test_attachments_must_be_ids() -> None:
    assert error(FieldKind.ATTACHMENT, [1])[1:] == ("type", "must be a list of attachment ids")


# --- the form itself --------------------------------------------------------------------------


def test_form_finds_its_fields_and_option_labels() -> None:
    device = IT_TYPE.field("device")
    assert device is not None
    assert device.option_label("laptop") == Text("Laptop", "笔记本电脑")
    assert device.option_label("fax") is None
    assert IT_TYPE.field("nope") is None


def test_a_full_it_request_comes_back_clean() -> None:
    values: dict[str, object] = {
        "device": "laptop",
        "topics": ["vpn"],
        "amount": "3000",
        "backup": "hanmeimei",
        "needed_by": "2026-03-01",
        "screenshots": ["att-9"],
        "notes": " 尽快 ",
    }
    assert validate_fields(IT_TYPE, values, DIRECTORY) == {
        "device": "laptop",
        "topics": ["vpn"],
        "amount": 3000,
        "backup": "hanmeimei",
        "needed_by": "2026-03-01",
        "screenshots": ["att-9"],
        "notes": "尽快",
    }


def test_option_labels_speak_both_languages() -> None:
    option = Option("vpn", Text("VPN access", "VPN 权限"))
    assert option.label.get("zh-CN") == "VPN 权限"
    assert option.label.get("en") == "VPN access"


@pytest.mark.parametrize("raw", [2**53, -(2**53), 1e20, "1e20", 2**64, -1e300])
def test_number_beyond_what_a_double_holds_exactly_is_out_of_range(raw: object) -> None:
    assert error(FieldKind.NUMBER, raw) == (
        "x",
        "range",
        "must be between -9007199254740991 and 9007199254740991",
    )


def test_number_on_the_edge_of_the_range_is_kept_exactly() -> None:
    assert clean(FieldKind.NUMBER, 2**53 - 1) == 9007199254740991
    assert clean(FieldKind.NUMBER, -(2**53 - 1)) == -9007199254740991
