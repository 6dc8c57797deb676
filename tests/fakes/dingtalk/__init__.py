"""A local DingTalk for tests: `async with FakeDingTalk(clock=...) as dt:` serves on port 0.

Covers, shaped as DingTalk publishes them (protocol.md in open-dingtalk/developerpedia, the
dingtalk-stream SDK's models, the open.dingtalk.com API pages):
- OAuth: POST /v1.0/oauth2/accessToken and legacy GET /gettoken (one token, 7200 s, renewed
  while valid; wrong secret → 400 invalidClientIdOrSecret / errcode 40089).
- Stream: POST /v1.0/gateway/connections/open → {endpoint, ticket} (one use, 90 s on the
  injected clock), the WebSocket at /connect?ticket=, SYSTEM ping (pong must echo the opaque)
  and disconnect (closed `disconnect_grace` s later), EVENTs redelivered until acked SUCCESS
  (LATER waits `later_delay`), fire-and-forget CALLBACKs for robot messages and card clicks,
  every ack checked against the frame's messageId (`stream.protocol_errors`, `stream.stray_acks`),
  abrupt drops. Frames go to one random live connection (seeded).
- Cards: createAndDeliver, create + deliver, PUT update, keyed by outTrackId; non-string
  cardParamMap values → 400 param.invalid; `cards[id].params` is what every copy shows, and a
  click's ack can update it in place.
- Robot messages: groupMessages/send, oToMessages/batchSend (msgKey + msgParam checked), the
  sessionWebhook from each robot message (expires after `session_ttl`, then errcode 300001
  "session 不存在"); all land in `sent`.
- HTTP mode: a signed outgoing-robot sender (`post_bot_message`, `outgoing`: headers
  `timestamp` and `sign`, forged or stale ones on request, any raw body).
- DING (/v1.0/robot/ding/send; standard edition and missing SMS/phone quota refused), the
  directory (topapi/v2/user/get, errcode inside HTTP 200), message files (downloadCode →
  downloadUrl served here).
- Faults per route for the next N calls (`fail_next`): QPS throttle, monthly quota, the per-IP
  ban HTML page, 5xx, legacy errcode bodies, a hang.

Not covered: custom-robot webhooks (/robot/send with
sign), the legacy interactiveCards API, AI-card streaming, media upload, real rate counting
(throttles are injected, not computed), event types' own payload schemas, and redelivery give-up.
The error codes the vendor pages do not give are marked "(double's choice)" in openapi.py.
"""

from tests.fakes.dingtalk.fake import Call, FakeDingTalk
from tests.fakes.dingtalk.faults import Fault
from tests.fakes.dingtalk.openapi import Card, Sent
from tests.fakes.dingtalk.outgoing import Delivery
from tests.fakes.dingtalk.stream import Ack, Push

__all__ = ["Ack", "Call", "Card", "Delivery", "FakeDingTalk", "Fault", "Push", "Sent"]
