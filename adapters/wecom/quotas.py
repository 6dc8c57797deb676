"""WeCom's documented send limits, kept by the outbox (`adapters.contract.Quota`).

A company app may send one member at most 30 messages a minute and 1,000 an hour; WeCom drops
the rest without a word (每应用对同一个成员不可超过30次/分钟，1000次/小时，超过部分会被丢弃不下发).
A corp may call one API at most 10,000 times a minute and 150,000 an hour (answered 45009). A
group robot's webhook takes 20 messages a minute (45009 too).

Each limit is kept as a burst and a rate, which together never exceed any of its windows: B sends
at once and r a second put at most B + r*T into T seconds. The smart robot documents no limit
and is not paced.
"""

from __future__ import annotations

from adapters.contract import Quota
from adapters.wecom.render import split_conversation

# one member, from one app: 13 + 0.27 * 60 = 29.2 a minute, 13 + 0.27 * 3600 = 985 an hour
MEMBER_BURST, MEMBER_PER_SECOND = 13, 0.27
# message/send, for the whole corp: 2,400 + 41 * 60 = 4,860 a minute, 2,400 + 41 * 3600 =
# 150,000 an hour
SEND_BURST, SEND_PER_SECOND = 2400, 41.0
# one group webhook: 10 + 60 / 6 = 20 a minute
WEBHOOK_BURST, WEBHOOK_PER_SECOND = 10, 1 / 6


def quotas(kind: str, conversation: str) -> tuple[Quota, ...]:
    """The limits a send of this outbox kind to this conversation counts against. A card
    update in a member's chat is another API (update_template_card) and counts against none."""
    place, target = split_conversation(conversation)
    if place == "app":
        if kind == "card_update":
            return ()
        return (
            Quota(f"app-member:{target}", MEMBER_PER_SECOND, MEMBER_BURST),
            Quota("app:message/send", SEND_PER_SECOND, SEND_BURST),
        )
    if place == "hook":  # a card update there is a status line: a message like any other
        return (Quota(f"webhook:{target}", WEBHOOK_PER_SECOND, WEBHOOK_BURST),)
    return ()
