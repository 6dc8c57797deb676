"""Classifier benchmark: how long core.conversation.classify takes per chat message when the
help-desk room has TICKETS open tickets (default 1,000) from PEOPLE senders.

The room's state is what a channel keeps in memory: each sender's last ticket opened here (a
dict keyed by sender), the known key prefixes. Each measured message does what a channel does
per message: look up the sender's recent ticket, build the view, classify. The mix covers every
outcome (commands, chatter in both languages, key mentions, follow-ups, new tickets). Usage:
  .venv/bin/python bench/classify.py [--tickets 1000] [--messages 200000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from core.conversation import (
    ChatMessage,
    ConversationRules,
    ConversationView,
    RecentTicket,
    classify,
)

TEXTS = [
    "/help", "/mine", "/status IT-1234", "/note IT-1500 用户说是第二次", "/list",
    "谢谢！", "好的", "收到", "ok", "thanks", "👍", "🙏🏻",
    "IT-1042 还是没修好", "it-1999 still broken, see screenshot",
    "是 3 楼那台 HP 打印机", "型号是 M404dn", "the VPN client says error 809",
    "我的电脑开不了机，昨天还好好的，今天一按电源键就没反应，麻烦看一下",
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--messages", type=int, default=200_000)
    args = parser.parse_args()

    rng = random.Random(11)
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    rules = ConversationRules()
    prefixes = frozenset({"IT", "PR", "FAC", "HR", "FIN"})
    # the room's open tickets, and each sender's most recent one (what the view needs)
    last: dict[str, RecentTicket] = {}
    for n in range(args.tickets):
        sender = f"p{rng.randrange(args.people)}"
        opened = now - timedelta(seconds=rng.randrange(0, 3 * 3600))
        if sender not in last or last[sender].opened_at < opened:
            last[sender] = RecentTicket(f"IT-{1001 + n}", opened, told=rng.random() < 0.5)

    messages = [
        ChatMessage(rng.choice(TEXTS), f"p{rng.randrange(args.people)}", "helpdesk", now)
        for _ in range(args.messages)
    ]
    kinds: Counter[str] = Counter()
    for m in messages[:2000]:  # warm up (regex cache, interned strings)
        classify(m, ConversationView(last.get(m.sender_id), prefixes), rules)
    samples = []
    clock = time.perf_counter_ns
    for m in messages:
        start = clock()
        view = ConversationView(last.get(m.sender_id), prefixes)
        result = classify(m, view, rules)
        samples.append(clock() - start)
        kinds[result.kind.value] += 1
    samples.sort()
    p50 = samples[len(samples) // 2] / 1000
    p99 = samples[int(len(samples) * 0.99)] / 1000
    mean = statistics.fmean(samples) / 1000
    print(f"{args.tickets} open tickets, {len(last)} senders with a recent ticket")
    print(f"{len(samples)} messages: p50 {p50:.1f} µs, p99 {p99:.1f} µs, mean {mean:.1f} µs")
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))


if __name__ == "__main__":
    main()
