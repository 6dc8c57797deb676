"""A local WeCom (企业微信) for tests: the smart robot's long connection, the company app's HTTP
API, and encrypted callbacks — built from the official SDKs' source and WeCom's docs.

Covers
- Smart robot (智能机器人) long connection (`bot`, aibot.py), at `ws_url` and `wss_url`:
  `aibot_subscribe` (bot id + secret; a wrong one gets an errcode), `ping`, pushes of
  `aibot_msg_callback` (text, mixed, image, file, voice as its transcript — files AES-256-CBC
  encrypted per message and served at the `url` with their `aeskey`) and `aibot_event_callback` (`enter_chat`,
  `template_card_event`, `disconnected_event` to the old connection when a second one subscribes
  with the same bot id, which is then closed); acks for `aibot_respond_msg`,
  `aibot_respond_welcome_msg`, `aibot_respond_update_msg` (refused once 5 s have passed since the
  click, by the injected clock) and `aibot_send_msg`. Users are played by `send_group_message`,
  `send_direct_message`, `send_voice`, `send_image`, `send_file`, `send_mixed`, `push_message` (any
  msgtype, a video too), `click`, `enter_chat`, `drop`; `replies(chatid)` reads the answers;
  `cards_in(chatid)` / `chat(chatid)` show what each chat shows now; `frames` records both ways.
- Company app HTTP API (`api`, api.py) under `/cgi-bin/`: `gettoken` (tokens expire after
  7200 s), `message/send` (template cards checked; interactive ones return `response_code`,
  task_id stored and unique; past 30 a minute or 1,000 an hour to one member it answers ok and
  drops the message into `dropped`, as WeCom does), `message/update_template_card` (response_code single-use, 72 h),
  `appchat/send` (no template_card), `webhook/send?key=` (20 a minute, then 45009), `user/get`,
  `media/get`. Errors are HTTP 200 + errcode/errmsg; errcodes, 5xx and hangs are injectable.
- Encrypted callbacks (`CallbackSender`, callbacks.py): text and video messages,
  template_card_event (with SelectedItems) and enter_agent XML, encrypted by wechatpy's
  WeChatCrypto, POSTed with msg_signature/timestamp/nonce and retried like WeCom (5 s, 3 retries;
  both configurable), and the URL-verification GET with `echostr`.

Does not cover
- Streams as WeCom renders them (stream frames are recorded, not assembled), feedback events,
  media upload (`aibot_upload_media_*`), a video's content, the smart robot's HTTP-callback
  mode (encrypted JSON), `response_url` posts, contacts beyond `user/get`, departments and tags,
  the corp-wide 10,000 calls a minute per API, and the exact errcodes WeCom uses where its docs are silent
  (the double uses 40058 "invalid parameter"; see api.py and aibot.py).
- It does not reconnect anything: a dropped or kicked client decides for itself.

Time: pass a `core.clock.FrozenClock` to `FakeWeCom(clock=...)` / `CallbackSender(clock=...)` for
token expiry, response-code age, webhook pacing and the 5-second click window. Ids, nonces and
media keys come from seeded generators, so a run is repeatable.
"""

from tests.fakes.wecom.aibot import AiBotFace, Frame, Shown, ShownCard, encrypt_media
from tests.fakes.wecom.api import ApiFace, Call, SentCard
from tests.fakes.wecom.callbacks import CallbackSender, Delivery, Encrypted, cdata, parse_body
from tests.fakes.wecom.server import FakeWeCom

__all__ = [
    "AiBotFace",
    "ApiFace",
    "Call",
    "CallbackSender",
    "Delivery",
    "Encrypted",
    "FakeWeCom",
    "Frame",
    "SentCard",
    "Shown",
    "ShownCard",
    "cdata",
    "encrypt_media",
    "parse_body",
]
