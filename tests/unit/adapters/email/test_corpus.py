"""One test per corpus mail: title, body, requester and attachment names as a user sees them."""

from __future__ import annotations

import pytest

from adapters.email.loop import AutoKind, may_auto_reply, parse_bounce
from adapters.email.parse import strip_quoted
from adapters.email.threads import (
    referenced_ids,
    ticket_key_from_message_id,
    ticket_key_from_subject,
)

from .corpus_files import CORPUS, DOMAIN, load, raw
from .make_corpus import SAMPLES

# --- real-world mail from CPython's test suite ------------------------------------------


def test_cpython_msg_04_inline_text_parts_with_filenames_are_both_body_text() -> None:
    mail = load("cpython_msg_04.eml")
    assert mail.subject == "a simple multipart"
    assert (mail.from_name, mail.from_addr) == ("Barry A. Warsaw", "barry@python.org")
    assert mail.text.count("a simple kind of mirror") == 2
    assert mail.attachments == ()
    assert mail.auto is None


def test_cpython_msg_05_minimal_report_is_a_bounce_with_its_message_attached() -> None:
    mail = load("cpython_msg_05.eml")
    assert mail.subject == "bar"
    assert mail.text.startswith("Yadda yadda yadda")
    assert [a.filename for a in mail.attachments] == ["attachment-1.eml"]
    assert mail.attachments[0].content_type == "message/rfc822"
    assert mail.auto is AutoKind.BOUNCE


def test_cpython_msg_07_gif_attachment_keeps_its_name_and_bytes() -> None:
    mail = load("cpython_msg_07.eml")
    assert mail.subject == "Here is your dingus fish"
    assert mail.from_addr == "barry@digicool.com"
    assert mail.text == "Hi there,\n\nThis is the dingus fish."
    (gif,) = mail.attachments
    assert (gif.filename, gif.content_type) == ("dingusfish.gif", "image/gif")
    assert gif.data.startswith(b"GIF87a") and gif.size == len(gif.data)


def test_cpython_msg_15_outlook_express_html_alternative_reads_as_plain_text() -> None:
    mail = load("cpython_msg_15.eml")
    assert mail.subject == "XX"
    assert mail.from_addr == "xx@xx.dk"
    assert mail.text.startswith("Some removed test.")
    assert "<" not in mail.text
    assert "Some removed HTML" not in mail.text  # the <TITLE> is not body text


def test_cpython_msg_16_dsn_with_null_return_path_and_bulk_precedence_is_a_bounce() -> None:
    mail = load("cpython_msg_16.eml")
    assert mail.subject == "Delivery Notification: Delivery has failed"
    assert mail.from_addr == "postmaster@ucla.edu"
    assert "recipient reached disk quota" in mail.text
    assert mail.auto is AutoKind.BOUNCE
    assert not may_auto_reply(mail.auto)
    bounce = parse_bounce(raw("cpython_msg_16.eml"))
    assert bounce is not None
    assert bounce.recipients == ("jangel1@cougar.noc.ucla.edu",)
    assert bounce.original_message_ids == ("<002001c144a6$8752e060$56104586@oxy.edu>",)
    assert (bounce.status, bounce.permanent) == ("5.0.0", True)


def test_cpython_msg_22_two_jpeg_attachments_and_text_around_them() -> None:
    mail = load("cpython_msg_22.eml")
    assert mail.subject == ""
    assert mail.from_addr == "b@example.com"
    assert mail.text == "Text text text.\n\nText text text."
    assert [a.filename for a in mail.attachments] == ["wibble.JPG", "wibble2.JPG"]


def test_cpython_msg_25_dsn_with_cut_boundary_still_names_the_failed_recipient() -> None:
    mail = load("cpython_msg_25.eml")
    assert mail.subject.startswith("Returned mail: Too many hops 19 (17 max)")
    assert mail.from_addr == "mailer-daemon@zinfandel.lacita.com"
    assert "delivery notifications" in mail.text
    assert mail.auto is AutoKind.BOUNCE
    bounce = parse_bounce(raw("cpython_msg_25.eml"))
    assert bounce is not None
    assert bounce.recipients == ("scoffman@wellpartner.com",)
    assert bounce.original_message_ids == ("<01040616033903.00962@server>",)
    assert (bounce.status, bounce.permanent) == ("5.4.6", True)


def test_cpython_msg_26_attachment_name_comes_from_content_disposition() -> None:
    mail = load("cpython_msg_26.eml")
    assert mail.subject == "IMAP file test"
    assert (mail.from_name, mail.from_addr) == ("Father Time", "father.time@xcar.wooster.local")
    assert mail.text == "Simple email with attachment."
    assert [a.filename for a in mail.attachments] == ["clock.bmp"]


def test_cpython_msg_43_null_mailer_daemon_report_lists_every_failed_recipient() -> None:
    mail = load("cpython_msg_43.eml")
    assert mail.subject == "Banned file: auto__mail.python.bat in mail from you"
    assert (mail.from_name, mail.from_addr) == ("MAILER DAEMON", "")
    assert mail.text.startswith("BANNED FILENAME ALERT")
    assert mail.auto is AutoKind.BOUNCE
    bounce = parse_bounce(raw("cpython_msg_43.eml"))
    assert bounce is not None
    assert len(bounce.recipients) == 11
    assert bounce.original_message_ids == ("<edab.7804f5cb8070@python.org>",)
    assert (bounce.status, bounce.permanent) == ("5.7.1", True)


# --- Chinese charsets ---------------------------------------------------------------------


def test_gbk_only_characters_in_gb2312_mail_decode_correctly() -> None:
    mail = load("gb2312_label_gbk_chars.eml")
    assert mail.subject == "王喆电脑蓝屏（堃、镕）"
    assert (mail.from_name, mail.from_addr) == ("王喆", "wang.zhe@example.cn")
    assert mail.text == "你好，\n\n王喆的电脑开机蓝屏，麻烦堃哥或者镕姐看一下。\n\n谢谢！"
    assert "\ufffd" not in mail.subject + mail.text
    assert mail.attachments == ()


def test_encoded_words_split_inside_a_character_join_into_the_right_subject() -> None:
    mail = load("gbk_split_encoded_word.eml")
    assert mail.subject == "打印机卡纸，三楼东侧"
    assert (mail.from_name, mail.from_addr) == ("李晓镕", "li.xiaorong@example.cn")
    assert mail.text == "三楼东侧的打印机一直卡纸。"


def test_gb18030_four_byte_characters_survive_in_subject_body_and_name() -> None:
    mail = load("gb18030_four_byte.eml")
    assert mail.subject == "门禁卡登记错名：𠮷"
    assert (mail.from_name, mail.from_addr) == ("陈𠀀", "chen@example.cn")
    assert mail.text == "门牌：𠮷野家旁边，姓名：𡃁仔，另有扩展字㐀。"


def test_big5_body_and_hkscs_subject_read_as_traditional_chinese() -> None:
    mail = load("big5_body.eml")
    assert mail.subject == "投影機壞咗"
    assert (mail.from_name, mail.from_addr) == ("黃大文", "wong@example.com.tw")
    assert mail.text == "您好：\n\n會議室的投影機無法開機，請協助處理。"


def test_rfc2231_chinese_filenames_including_gbk_continuations_are_named_right() -> None:
    mail = load("rfc2231_filenames.eml")
    assert mail.subject == "报销附件"
    assert mail.from_addr == "zhang.san@example.cn"
    assert mail.text == "附件见下。"
    assert [a.filename for a in mail.attachments] == ["发票扫描.pdf", "报销单（三月）.xls"]
    assert mail.attachments[0].data == b"%PDF-1.4 fake\n"


def test_rfc2047_filenames_in_quotes_and_raw_utf8_names_are_named_right() -> None:
    mail = load("rfc2047_filenames.eml")
    assert mail.subject == "设备清单和截图"
    assert mail.text == "见附件。"
    assert [a.filename for a in mail.attachments] == [
        "设备清单.xlsx",
        "屏幕截图_喆.png",
        "日志.txt",
    ]


def test_html_only_mail_becomes_text_without_scripts_styles_or_tags() -> None:
    mail = load("html_only_with_script.eml")
    assert mail.subject == "VPN 连不上"
    assert (mail.from_name, mail.from_addr) == ("赵六", "zhao.liu@example.cn")
    assert mail.text.startswith("您好，\n\nVPN 连不上 & 邮件发不出去 <紧急>")
    assert "- 笔记本：ThinkPad X1\n- 系统：Windows 11" in mail.text
    assert "line one\nline two" in mail.text
    assert "<https://status.example.cn/vpn>" in mail.text
    for hidden in ("alert", "injected", "color: red", "ignored title", "javascript"):
        assert hidden not in mail.text


def test_raw_8bit_headers_decode_as_utf8_or_gbk_and_body_without_charset_too() -> None:
    mail = load("raw_8bit_headers_form.eml")
    assert mail.subject == "打印机打印空白页"
    assert (mail.from_name, mail.from_addr) == ("刘洋", "liu.yang@example.cn")
    assert mail.to == ("it+printer@gongdan.example.com",)
    assert mail.text.startswith("地点：三楼东侧 301\n类别: 打印机")
    assert mail.message_id is None
    assert mail.dedupe_key.startswith("sha256:")


# --- loop safety and threading --------------------------------------------------------------


def test_chinese_out_of_office_reply_is_auto_submitted_and_gets_no_answer() -> None:
    mail = load("out_of_office_zh.eml")
    assert mail.subject == "自动回复: [IT-1042] 王喆电脑蓝屏"
    assert mail.from_addr == "wang.zhe@example.cn"
    assert mail.text == "我休假到3月10日，急事请找堃哥。"
    assert mail.auto is AutoKind.AUTO_SUBMITTED
    assert not may_auto_reply(mail.auto)


def test_list_mail_is_recognised_as_list_traffic() -> None:
    mail = load("list_mail.eml")
    assert mail.subject == "本周机房维护通知"
    assert mail.from_addr == "weekly@lists.example.cn"
    assert mail.text == "本周六 22:00 机房维护，届时邮件暂停。"
    assert mail.auto is AutoKind.LIST


def test_outlook_reply_without_references_threads_by_full_width_tag() -> None:
    mail = load("outlook_reply_without_references.eml")
    assert mail.subject == "回复：【IT-1042】王喆电脑蓝屏"
    assert (mail.from_name, mail.from_addr) == ("王喆", "wang.zhe@example.cn")
    assert referenced_ids(mail) == ()
    assert ticket_key_from_subject(mail.subject, ["IT"]) == "IT-1042"
    assert strip_quoted(mail.text) == "已经重启过了，还是蓝屏。\n\n王喆"
    assert mail.auto is None


def test_gmail_chinese_reply_threads_by_our_message_id_and_drops_the_quote() -> None:
    mail = load("gmail_reply_zh.eml")
    assert mail.subject == "Re: [IT-1042] 王喆电脑蓝屏"
    assert mail.from_addr == "wang.zhe@example.cn"
    keys = [ticket_key_from_message_id(mid, DOMAIN) for mid in referenced_ids(mail)]
    assert keys[0] == "IT-1042"
    assert strip_quoted(mail.text) == "好的，下午三点可以。"


def test_read_receipt_is_a_disposition_report_not_a_reply() -> None:
    mail = load("read_receipt.eml")
    assert mail.subject == "已读: [IT-1042] 王喆电脑蓝屏"
    assert mail.from_addr == "wang.zhe@example.cn"
    assert mail.text == "Your message was displayed."
    assert mail.auto is AutoKind.DISPOSITION


def test_bounce_of_our_acknowledgement_points_back_to_its_ticket() -> None:
    mail = load("bounce_of_our_ack.eml")
    assert mail.subject == "Undelivered Mail Returned to Sender"
    assert mail.from_addr == "mailer-daemon@mx.example.cn"
    assert "User unknown" in mail.text
    assert mail.auto is AutoKind.BOUNCE
    bounce = parse_bounce(raw("bounce_of_our_ack.eml"))
    assert bounce is not None
    assert [ticket_key_from_message_id(m, DOMAIN) for m in bounce.original_message_ids] == [
        "IT-1043"
    ]
    assert (bounce.recipients, bounce.status, bounce.permanent) == (
        ("nobody@example.cn",),
        "5.1.1",
        True,
    )


# --- the corpus itself --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_generated_corpus_files_match_their_generator(name: str) -> None:
    assert (CORPUS / name).read_bytes() == SAMPLES[name]()


def test_every_corpus_file_has_a_test() -> None:
    names = {p.name for p in CORPUS.glob("*.eml")}
    source = (CORPUS.parent / "test_corpus.py").read_text(encoding="utf-8")
    untested = sorted(n for n in names if f'"{n}"' not in source)
    assert untested == []
