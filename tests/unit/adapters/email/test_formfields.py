"""Forms by mail: `Field: value` lines in either language fill the ticket type's fields."""

from __future__ import annotations

from adapters.email.formfields import parse_field_lines
from adapters.email.parse import parse_mail
from core.forms import FieldKind, FieldSpec, Option
from core.i18n import Text

from .corpus_files import load

FIELDS = (
    FieldSpec("location", FieldKind.TEXT, Text("Location", "地点"), required=True),
    FieldSpec(
        "category",
        FieldKind.SELECT,
        Text("Category", "类别"),
        options=(
            Option("printer", Text("Printer", "打印机")),
            Option("network", Text("Network", "网络")),
        ),
    ),
    FieldSpec(
        "impact",
        FieldKind.MULTI_SELECT,
        Text("Impact", "影响范围"),
        options=(
            Option("me", Text("Only me", "本人")),
            Option("team", Text("My team", "全组")),
            Option("site", Text("Whole site", "全公司")),
        ),
    ),
    FieldSpec("photo", FieldKind.ATTACHMENT, Text("Photo", "照片")),
)


def test_chinese_labels_with_full_width_colons_fill_fields_from_a_real_mail() -> None:
    values, rest = parse_field_lines(load("raw_8bit_headers_form.eml").text, FIELDS)
    assert values == {"location": "三楼东侧 301", "category": "printer", "impact": ["me", "team"]}
    assert rest == "打印出来全是空白页。"


def test_english_labels_ids_and_option_values_match_case_insensitively() -> None:
    text = "LOCATION: 3F east\ncategory: NETWORK\nimpact: site, Only Me\n\nWifi drops."
    values, rest = parse_field_lines(text, FIELDS)
    assert values == {"location": "3F east", "category": "network", "impact": ["site", "me"]}
    assert rest == "Wifi drops."


def test_unknown_option_is_passed_through_for_core_to_reject_in_the_users_words() -> None:
    values, _ = parse_field_lines("类别：咖啡机", FIELDS)
    assert values == {"category": "咖啡机"}


def test_lines_that_are_not_fields_stay_in_the_body() -> None:
    text = "Note: call me after 10:30\nhttps://intranet.example.cn/x\n地点：二楼"
    values, rest = parse_field_lines(text, FIELDS)
    assert values == {"location": "二楼"}
    assert rest == "Note: call me after 10:30\nhttps://intranet.example.cn/x"


def test_empty_template_lines_are_removed_without_filling_anything() -> None:
    values, rest = parse_field_lines("Location:\n类别：\nThe printer is broken.", FIELDS)
    assert values == {}
    assert rest == "The printer is broken."


def test_first_line_for_a_field_wins_and_later_ones_stay_as_text() -> None:
    values, rest = parse_field_lines("地点：三楼\nLocation: 4F", FIELDS)
    assert values == {"location": "三楼"}
    assert rest == "Location: 4F"


def test_attachment_fields_are_never_filled_from_text() -> None:
    values, rest = parse_field_lines("照片：见附件", FIELDS)
    assert values == {}
    assert rest == "照片：见附件"


def test_time_values_keep_their_own_colons() -> None:
    values, _ = parse_field_lines("Location: room 3 at 10:30", FIELDS)
    assert values == {"location": "room 3 at 10:30"}


def test_windows_line_endings_in_a_parsed_mail_do_not_leak_into_values() -> None:
    raw = b"From: a@b.cn\r\nSubject: x\r\n\r\nLocation: 3F\r\nbody\r\n"
    values, rest = parse_field_lines(parse_mail(raw).text, FIELDS)
    assert values == {"location": "3F"}
    assert rest == "body"
