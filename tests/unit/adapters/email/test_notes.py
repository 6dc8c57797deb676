"""What the mail intake writes back, as a person reads it."""

from __future__ import annotations

from adapters.email.notes import missing_fields
from core.errors import FieldError, FormInvalid
from core.forms import FieldKind, FieldSpec, TicketType
from core.i18n import Text

PURCHASE = TicketType(
    id="purchase",
    prefix="PR",
    name=Text("Purchase request", "采购申请"),
    fields=(FieldSpec("item", FieldKind.TEXT, Text("Item", "物品"), required=True),),
)


def test_missing_fields_quote_the_request_and_the_line_format_typographically() -> None:
    error = FieldError("item", "required", "is required", "必填")
    text = missing_fields(PURCHASE, "买笔记本", FormInvalid([error]))

    assert text["en"].splitlines() == [
        "Your request “买笔记本” needs more information; no ticket was opened yet."
        " Please send it again with these lines:",
        "",
        "  Item: is required",
        "",
        "Write each one as “Field: value”.",
    ]
    assert text["zh-CN"].splitlines()[0].startswith("您的请求“买笔记本”还缺少信息")
    assert text["zh-CN"].splitlines()[-1] == "每行写成“字段：值”。"
