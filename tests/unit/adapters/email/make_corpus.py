"""Builds the Chinese-charset samples in corpus/ byte for byte.

Run `python -m tests.unit.adapters.email.make_corpus` from the repository root to rewrite
them; a test checks the committed files still equal this output. The messages imitate what
Outlook (zh-CN), Foxmail, Tencent Exmail, Gmail and old webmail send: GB2312 labels on GBK
text, encoded-words split inside a character, raw 8-bit headers, RFC 2231 continuations.
"""

from __future__ import annotations

import base64
import quopri
from pathlib import Path

CORPUS = Path(__file__).with_name("corpus")


def b_word(text: str, charset: str, codec: str | None = None) -> str:
    data = text.encode(codec or charset)
    return f"=?{charset}?B?{base64.b64encode(data).decode()}?="


def split_b_words(text: str, charset: str, cut: int) -> str:
    """Two encoded-words whose byte boundary falls inside a multibyte character."""
    data = text.encode(charset)
    first, second = data[:cut], data[cut:]
    return (
        f"=?{charset}?B?{base64.b64encode(first).decode()}?=\n"
        f" =?{charset}?B?{base64.b64encode(second).decode()}?="
    )


def b64_lines(data: bytes) -> bytes:
    encoded = base64.b64encode(data)
    return b"\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76)) + b"\n"


def gb2312_with_gbk_chars() -> bytes:
    body = "你好，\n\n王喆的电脑开机蓝屏，麻烦堃哥或者镕姐看一下。\n\n谢谢！\n"
    head = (
        f"From: {b_word('王喆', 'gb2312', 'gbk')} <wang.zhe@example.cn>\n"
        "To: it@gongdan.example.com\n"
        f"Subject: {b_word('王喆电脑蓝屏（堃、镕）', 'gb2312', 'gbk')}\n"
        "Date: Tue, 05 Mar 2024 09:12:44 +0800\n"
        "Message-ID: <20240305091244.1@mail.example.cn>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=gb2312\n"
        "Content-Transfer-Encoding: base64\n"
        "X-Mailer: Foxmail 7.2.25.254[cn]\n\n"
    )
    return head.encode() + b64_lines(body.encode("gbk"))


def split_encoded_word_subject() -> bytes:
    subject = "打印机卡纸，三楼东侧"
    # byte 5 is the middle of the third character (机) in GBK
    head = (
        f"From: {split_b_words('李晓镕', 'GBK', 3)} <li.xiaorong@example.cn>\n"
        "To: it@gongdan.example.com\n"
        f"Subject: {split_b_words(subject, 'GBK', 5)}\n"
        "Date: Wed, 06 Mar 2024 14:03:10 +0800\n"
        "Message-ID: <split.20240306140310@mail.example.cn>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=GBK\n"
        "Content-Transfer-Encoding: quoted-printable\n\n"
    )
    body = quopri.encodestring("三楼东侧的打印机一直卡纸。\n".encode("gbk"))
    return head.encode() + body


def gb18030_four_byte() -> bytes:
    body = "门牌：𠮷野家旁边，姓名：𡃁仔，另有扩展字㐀。\n"
    head = (
        "From: =?GB18030?B?" + base64.b64encode("陈𠀀".encode("gb18030")).decode() + "?= "
        "<chen@example.cn>\n"
        "To: it@gongdan.example.com\n"
        f"Subject: {b_word('门禁卡登记错名：𠮷', 'GB18030')}\n"
        "Date: Thu, 07 Mar 2024 08:00:00 +0800\n"
        "Message-ID: <gb18030.1@mail.example.cn>\n"
        "MIME-Version: 1.0\n"
        'Content-Type: text/plain; charset="GB18030"\n'
        "Content-Transfer-Encoding: base64\n\n"
    )
    return head.encode() + b64_lines(body.encode("gb18030"))


def big5_body() -> bytes:
    body = "您好：\n\n會議室的投影機無法開機，請協助處理。\n"
    head = (
        f"From: {b_word('黃大文', 'big5')} <wong@example.com.tw>\n"
        "To: it@gongdan.example.com\n"
        f"Subject: {b_word('投影機壞咗', 'big5-hkscs', 'big5hkscs')}\n"
        "Date: Fri, 08 Mar 2024 10:30:00 +0800\n"
        "Message-ID: <big5.1@mail.example.com.tw>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=big5\n"
        "Content-Transfer-Encoding: quoted-printable\n\n"
    )
    return head.encode() + quopri.encodestring(body.encode("big5"))


def _multipart(head: str, text: str, parts: list[bytes]) -> bytes:
    boundary = b"----=_Part_0_1234567890"
    out = [head.encode(), b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\n\n']
    out.append(b"--" + boundary + b"\nContent-Type: text/plain; charset=utf-8\n")
    out.append(b"Content-Transfer-Encoding: base64\n\n" + b64_lines(text.encode()))
    for part in parts:
        out.append(b"--" + boundary + b"\n" + part)
    out.append(b"--" + boundary + b"--\n")
    return b"".join(out)


def _head(subject_word: str, mid: str) -> str:
    return (
        "From: Zhang San <zhang.san@example.cn>\n"
        "To: it@gongdan.example.com\n"
        f"Subject: {subject_word}\n"
        "Date: Mon, 11 Mar 2024 11:11:11 +0800\n"
        f"Message-ID: <{mid}@mail.example.cn>\n"
        "MIME-Version: 1.0\n"
    )


def rfc2231_filenames() -> bytes:
    gbk = "".join(f"%{b:02X}" for b in "报销单（三月）".encode("gbk"))
    parts = [
        b"Content-Type: application/pdf\n"
        b"Content-Disposition: attachment;\n"
        b" filename*=UTF-8''%E5%8F%91%E7%A5%A8%E6%89%AB%E6%8F%8F.pdf\n"
        b"Content-Transfer-Encoding: base64\n\n" + b64_lines(b"%PDF-1.4 fake\n"),
        b"Content-Type: application/vnd.ms-excel\n"
        b"Content-Disposition: attachment;\n"
        b" filename*0*=gbk''" + gbk[:30].encode() + b";\n"
        b" filename*1*=" + gbk[30:].encode() + b";\n"
        b" filename*2=.xls\n"
        b"Content-Transfer-Encoding: base64\n\n" + b64_lines(b"\xd0\xcf\x11\xe0 fake xls"),
    ]
    return _multipart(_head(b_word("报销附件", "utf-8"), "rfc2231"), "附件见下。\n", parts)


def rfc2047_filenames() -> bytes:
    parts = [
        b"Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet;\n"
        b' name="' + b_word("设备清单.xlsx", "UTF-8").encode() + b'"\n'
        b"Content-Disposition: attachment;\n"
        b' filename="' + b_word("设备清单.xlsx", "UTF-8").encode() + b'"\n'
        b"Content-Transfer-Encoding: base64\n\n" + b64_lines(b"PK\x03\x04 fake xlsx"),
        b"Content-Type: image/png;\n"
        b' name="' + b_word("屏幕截图_喆.png", "gb2312", "gbk").encode() + b'"\n'
        b"Content-Transfer-Encoding: base64\n\n" + b64_lines(b"\x89PNG\r\n\x1a\n fake"),
        # Some webmail puts raw UTF-8 bytes in the quoted name, with no encoding at all.
        b"Content-Type: text/plain; charset=utf-8\n"
        b'Content-Disposition: attachment; filename="' + "日志.txt".encode() + b'"\n\n'
        b"error 42\n",
    ]
    return _multipart(_head(b_word("设备清单和截图", "UTF-8"), "rfc2047"), "见附件。\n", parts)


def html_only_with_script() -> bytes:
    html = (
        "<html><head><title>ignored title</title><style>p {color: red}</style>"
        "<script>alert('x')</script></head><body>"
        "<p>您好，</p><div>VPN 连不上 &amp; 邮件发不出去&nbsp;&lt;紧急&gt;</div>"
        "<ul><li>笔记本：ThinkPad X1</li><li>系统：Windows&nbsp;11</li></ul>"
        'line one<br>line two<br/>详见 <a href="https://status.example.cn/vpn">状态页</a>'
        '<a href="javascript:alert(1)">click</a>'
        "<script type='text/javascript'>document.write('<p>injected</p>')</script>"
        "</body></html>"
    )
    head = (
        "From: =?utf-8?q?=E8=B5=B5=E5=85=AD?= <zhao.liu@example.cn>\n"
        "To: it@gongdan.example.com\n"
        "Subject: =?utf-8?q?VPN_=E8=BF=9E=E4=B8=8D=E4=B8=8A?=\n"
        "Date: Tue, 12 Mar 2024 09:00:00 +0800\n"
        "Message-ID: <html.only@mail.example.cn>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/html; charset=utf-8\n"
        "Content-Transfer-Encoding: base64\n\n"
    )
    return head.encode() + b64_lines(html.encode())


def out_of_office() -> bytes:
    head = (
        f"From: {b_word('王喆', 'gb2312', 'gbk')} <wang.zhe@example.cn>\n"
        "To: it@gongdan.example.com\n"
        f"Subject: {b_word('自动回复: [IT-1042] 王喆电脑蓝屏', 'gb2312', 'gbk')}\n"
        "Date: Tue, 05 Mar 2024 09:20:00 +0800\n"
        "Message-ID: <oof.1@mail.example.cn>\n"
        "In-Reply-To: <IT-1042.a1b2c3@gongdan.example.com>\n"
        "Auto-Submitted: auto-replied\n"
        "X-Auto-Response-Suppress: All\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=gb2312\n"
        "Content-Transfer-Encoding: base64\n\n"
    )
    return head.encode() + b64_lines("我休假到3月10日，急事请找堃哥。\n".encode("gbk"))


def list_mail() -> bytes:
    head = (
        "From: IT Weekly <weekly@lists.example.cn>\n"
        "To: staff@lists.example.cn\n"
        "Subject: =?utf-8?b?5pys5ZGo5py65oi/57u05oqk6YCa55+l?=\n"
        "Date: Mon, 11 Mar 2024 07:00:00 +0800\n"
        "Message-ID: <list.2024w11@lists.example.cn>\n"
        "List-Id: IT Weekly <it-weekly.lists.example.cn>\n"
        "List-Unsubscribe: <mailto:leave-it-weekly@lists.example.cn>\n"
        "Precedence: list\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n\n"
    )
    return head.encode() + "本周六 22:00 机房维护，届时邮件暂停。\n".encode()


def outlook_reply_without_references() -> bytes:
    body = (
        "已经重启过了，还是蓝屏。\n\n"
        "王喆\n\n"
        "发件人: IT 服务台 <it@gongdan.example.com>\n"
        "发送时间: 2024年3月5日 9:15\n"
        "收件人: 王喆 <wang.zhe@example.cn>\n"
        "主题: 【IT-1042】王喆电脑蓝屏\n\n"
        "您的工单 IT-1042 已受理。\n"
    )
    head = (
        f"From: {b_word('王喆', 'gb2312', 'gbk')} <wang.zhe@example.cn>\n"
        "To: IT =?gb2312?B?t/7O8cyo?= <it@gongdan.example.com>\n"
        f"Subject: {b_word('回复：【IT-1042】王喆电脑蓝屏', 'gb2312', 'gbk')}\n"
        "Thread-Topic: =?gb2312?B?"
        + base64.b64encode("王喆电脑蓝屏".encode("gbk")).decode()
        + "?=\n"
        "Thread-Index: AdpuvNqY2kTQk2e2QbqWf3+S4Nc0Ag==\n"
        "Date: Tue, 05 Mar 2024 10:02:00 +0800\n"
        "Message-ID: <TYZPR06MB0001A@TYZPR06MB0001.apcprd06.prod.outlook.com>\n"
        "Content-Language: zh-CN\n"
        "X-MS-Has-Attach: \n"
        "MIME-Version: 1.0\n"
        'Content-Type: text/plain; charset="gb2312"\n'
        "Content-Transfer-Encoding: base64\n\n"
    )
    return head.encode() + b64_lines(body.encode("gbk"))


def gmail_reply_zh() -> bytes:
    body = (
        "好的，下午三点可以。\n\n"
        "在 2024年3月5日周二 09:15，IT 服务台 <it@gongdan.example.com> 写道：\n\n"
        "> 请问什么时候方便上门？\n"
        ">\n"
        "> IT-1042\n"
    )
    head = (
        f"From: {b_word('王喆', 'UTF-8')} <wang.zhe@example.cn>\n"
        "To: it@gongdan.example.com\n"
        f"Subject: Re: [IT-1042] {b_word('王喆电脑蓝屏', 'UTF-8')}\n"
        "Date: Tue, 05 Mar 2024 11:00:00 +0800\n"
        "Message-ID: <CAGmail0001@mail.gmail.com>\n"
        "In-Reply-To: <IT-1042.b7c9d2@gongdan.example.com>\n"
        "References: <20240305091244.1@mail.example.cn>\n"
        " <IT-1042.a1b2c3@gongdan.example.com> <IT-1042.b7c9d2@gongdan.example.com>\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/alternative; boundary="000000000000gmail"\n\n'
        "--000000000000gmail\n"
        'Content-Type: text/plain; charset="UTF-8"\n'
        "Content-Transfer-Encoding: base64\n\n"
    )
    html = "<div dir=ltr>好的，下午三点可以。</div><blockquote>请问什么时候方便上门？</blockquote>"
    return (
        head.encode()
        + b64_lines(body.encode())
        + b"--000000000000gmail\n"
        + b'Content-Type: text/html; charset="UTF-8"\n'
        + b"Content-Transfer-Encoding: base64\n\n"
        + b64_lines(html.encode())
        + b"--000000000000gmail--\n"
    )


def raw_8bit_headers_form() -> bytes:
    """Old webmail: raw GBK bytes in Subject, raw UTF-8 in From, form lines in the body."""
    body = "地点：三楼东侧 301\n类别: 打印机\n影响范围：本人、全组\n\n打印出来全是空白页。\n"
    return (
        b"From: "
        + "刘洋".encode()
        + b" <liu.yang@example.cn>\n"
        + b"To: it+printer@gongdan.example.com\n"
        + b"Subject: "
        + "打印机打印空白页".encode("gbk")
        + b"\nDate: Wed, 13 Mar 2024 15:45:00 +0800\n"
        + b"MIME-Version: 1.0\n"
        + b"Content-Type: text/plain\n"
        + b"Content-Transfer-Encoding: 8bit\n\n"
        + body.encode("gbk")
    )


def read_receipt() -> bytes:
    return (
        "From: Wang Zhe <wang.zhe@example.cn>\n"
        "To: it@gongdan.example.com\n"
        f"Subject: {b_word('已读: [IT-1042] 王喆电脑蓝屏', 'utf-8')}\n"
        "Date: Tue, 05 Mar 2024 09:30:00 +0800\n"
        "Message-ID: <mdn.1@mail.example.cn>\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=disposition-notification; boundary="mdn"\n\n'
        "--mdn\nContent-Type: text/plain; charset=utf-8\n\nYour message was displayed.\n"
        "--mdn\nContent-Type: message/disposition-notification\n\n"
        "Final-Recipient: rfc822; wang.zhe@example.cn\n"
        "Original-Message-ID: <IT-1042.a1b2c3@gongdan.example.com>\n"
        "Disposition: manual-action/MDN-sent-manually; displayed\n\n"
        "--mdn--\n"
    ).encode()


def bounce_of_our_ack() -> bytes:
    return (
        b"Return-Path: <>\n"
        b"From: Mail Delivery System <MAILER-DAEMON@mx.example.cn>\n"
        b"To: it@gongdan.example.com\n"
        b"Subject: Undelivered Mail Returned to Sender\n"
        b"Date: Tue, 05 Mar 2024 09:13:02 +0800\n"
        b"Message-ID: <20240305011302.ABC@mx.example.cn>\n"
        b"Auto-Submitted: auto-replied\n"
        b"MIME-Version: 1.0\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="dsn"\n\n'
        b"--dsn\nContent-Type: text/plain; charset=us-ascii\n\n"
        b"This is the mail system at host mx.example.cn.\n\n"
        b"<nobody@example.cn>: host mx.example.cn said: 550 5.1.1 User unknown\n"
        b"--dsn\nContent-Type: message/delivery-status\n\n"
        b"Reporting-MTA: dns; mx.example.cn\n"
        b"Arrival-Date: Tue,  5 Mar 2024 09:13:01 +0800 (CST)\n\n"
        b"Final-Recipient: rfc822; nobody@example.cn\n"
        b"Original-Recipient: rfc822;nobody@example.cn\n"
        b"Action: failed\n"
        b"Status: 5.1.1\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 User unknown\n\n"
        b"--dsn\nContent-Type: text/rfc822-headers\n\n"
        b"From: IT Service Desk <it@gongdan.example.com>\n"
        b"To: nobody@example.cn\n"
        b"Subject: [IT-1043] =?utf-8?b?5bey5Y+X55CG?=\n"
        b"Message-ID: <IT-1043.f00d@gongdan.example.com>\n"
        b"Auto-Submitted: auto-replied\n"
        b"X-Gongdan-Loop: gongdan.example.com\n\n"
        b"--dsn--\n"
    )


SAMPLES = {
    "gb2312_label_gbk_chars.eml": gb2312_with_gbk_chars,
    "gbk_split_encoded_word.eml": split_encoded_word_subject,
    "gb18030_four_byte.eml": gb18030_four_byte,
    "big5_body.eml": big5_body,
    "rfc2231_filenames.eml": rfc2231_filenames,
    "rfc2047_filenames.eml": rfc2047_filenames,
    "html_only_with_script.eml": html_only_with_script,
    "out_of_office_zh.eml": out_of_office,
    "list_mail.eml": list_mail,
    "outlook_reply_without_references.eml": outlook_reply_without_references,
    "gmail_reply_zh.eml": gmail_reply_zh,
    "raw_8bit_headers_form.eml": raw_8bit_headers_form,
    "read_receipt.eml": read_receipt,
    "bounce_of_our_ack.eml": bounce_of_our_ack,
}


def pathological_html(links: int = 500, whitespace: int = 2**20) -> bytes:
    """Zammad #2416/#4463: thousands of links and a megabyte of blanks in one HTML mail."""
    anchors = "".join(f'<a href="https://example.cn/{i}">link {i}</a>\n' for i in range(links))
    html = f"<html><body><p>start</p>{anchors}{' ' * whitespace}<p>end</p></body></html>"
    head = (
        "From: Spammy <spam@example.cn>\nTo: it@gongdan.example.com\nSubject: many links\n"
        "MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n"
    )
    return head.encode() + html.encode()


def main() -> None:
    CORPUS.mkdir(exist_ok=True)
    for name, build in SAMPLES.items():
        (CORPUS / name).write_bytes(build())


if __name__ == "__main__":
    main()
