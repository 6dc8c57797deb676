"""The two languages every card and message speaks: zh-CN and en."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Locale = Literal["zh-CN", "en"]
LOCALES: tuple[Locale, ...] = ("zh-CN", "en")
DEFAULT_LOCALE: Locale = "zh-CN"


def as_locale(value: str | None, default: Locale = DEFAULT_LOCALE) -> Locale:
    """Map loose inputs ("zh", "zh_CN", "en-US") onto a supported locale."""
    if not value:
        return default
    v = value.replace("_", "-").lower()
    if v.startswith("zh"):
        return "zh-CN"
    if v.startswith("en"):
        return "en"
    return default


@dataclass(frozen=True)
class Text:
    """A label in both languages; falls back to whichever one is present."""

    en: str
    zh: str = ""

    def get(self, locale: Locale) -> str:
        if locale == "zh-CN":
            return self.zh or self.en
        return self.en or self.zh

    def to_json(self) -> dict[str, str]:
        """Both languages, as the web page and the REST API show them."""
        return {"zh-CN": self.get("zh-CN"), "en": self.get("en")}

    @classmethod
    def of(cls, value: str | Mapping[str, str] | Text) -> Text:
        if isinstance(value, Text):
            return value
        if isinstance(value, str):
            return cls(en=value, zh=value)
        return cls(en=value.get("en", ""), zh=value.get("zh-CN", value.get("zh", "")))


_MESSAGES: dict[str, tuple[str, str]] = {
    # key: (en, zh-CN)
    "status.new": ("New", "新建"),
    "status.assigned": ("Assigned", "已分派"),
    "status.accepted": ("Accepted", "已受理"),
    "status.in_progress": ("In progress", "处理中"),
    "status.waiting": ("Waiting for requester", "等待反馈"),
    "status.resolved": ("Resolved", "已解决"),
    "status.closed": ("Closed", "已关闭"),
    "status.cancelled": ("Cancelled", "已取消"),
    "priority.urgent": ("Urgent", "紧急"),
    "priority.high": ("High", "高"),
    "priority.normal": ("Normal", "普通"),
    "priority.low": ("Low", "低"),
    "action.accept": ("Accept", "受理"),
    "action.claim": ("Claim", "抢单"),
    "action.start": ("Start work", "开始处理"),
    "action.wait": ("Wait for requester", "等待反馈"),
    "action.resume": ("Resume", "继续处理"),
    "action.resolve": ("Resolve", "解决"),
    "action.close": ("Close", "关闭"),
    "action.reopen": ("Reopen", "重新打开"),
    "action.cancel": ("Cancel", "撤销"),
    "action.assign": ("Reassign", "转派"),
    "action.set_priority": ("Priority", "优先级"),
    "action.comment": ("Comment", "评论"),
    "confirm.cancel": ("Cancel this ticket?", "确定撤销这张工单吗？"),
    "confirm.resolve": ("Mark this ticket resolved?", "确定将工单标记为已解决吗？"),
    "field.status": ("Status", "状态"),
    "field.priority": ("Priority", "优先级"),
    "field.requester": ("Requester", "提单人"),
    "field.assignee": ("Assignee", "处理人"),
    "field.team": ("Team", "团队"),
    "field.type": ("Type", "类型"),
    "field.created": ("Created", "创建时间"),
    "field.sla_due": ("SLA due", "SLA 截止"),
    "card.source": ("Source: {link}", "来源：{link}"),
    "card.source_link": ("original message", "原消息"),
    "nobody": ("Unassigned", "未分派"),
    "queue": ("Team queue", "团队队列"),
    "err.already_accepted": ("Already accepted by {who}.", "已被 {who} 受理。"),
    "err.already_assigned": ("Already assigned to {who}.", "已分派给 {who}。"),
    "err.already_priority": ("The priority is already {priority}.", "优先级已是“{priority}”。"),
    "err.already_in_state": ("The ticket is already {status}.", "工单已是“{status}”状态。"),
    "err.not_allowed_in_state": (
        "{action} is not possible while the ticket is {status}.",
        "工单处于“{status}”状态，不能执行“{action}”。",
    ),
    "err.forbidden": (
        # action labels are nouns as often as verbs ("Priority"), so they are quoted, not conjugated
        'You cannot use "{action}" on {key}: {reason}.',
        "你不能对 {key} 执行“{action}”：{reason}。",
    ),
    "err.not_found": ("No ticket {key}.", "找不到工单 {key}。"),
    "reason.not_assignee": (
        "only the assignee, the team's lead or manager may do that",
        "只有处理人、团队负责人或经理可以这样做",
    ),
    "reason.not_team": ("you are not in the ticket's team", "你不在该工单的团队中"),
    "reason.not_involved": (
        "only the requester, the assignee or the team may do that",
        "只有提单人、处理人或团队成员可以这样做",
    ),
    "msg.opened": ("Ticket {key} opened: {title}", "已创建工单 {key}：{title}"),
    "msg.comment_by": ("{who} commented on {key}", "{who} 评论了 {key}"),
    "msg.fill_form": ("Please fill in the {type} form.", "请填写“{type}”表单。"),
    "action.snooze": ("Snooze 30 min", "稍后提醒"),
    "action.take_over": ("Take over", "接手"),
    "metric.first_response": ("first response", "首次响应"),
    "metric.next_update": ("next update", "下次更新"),
    "metric.resolution": ("resolution", "解决"),
    "metric.created": ("opening", "创建"),
    "card.reminder": ("Reminder", "提醒"),
    "card.escalation": ("Escalation", "升级"),
    "field.late_by": ("Late by", "已超时"),
    "field.held_by": ("Held by", "当前处理人"),
    "field.history": ("So far", "处理经过"),
    "msg.reminder_due": (
        "{key} {title}: {metric} is due {due} (in {left}).",
        "{key} {title}：{metric}将于 {due} 到期（还剩 {left}）。",
    ),
    "msg.reminder_late": (
        "{key} {title}: {metric} was due {due}, {late} ago.",
        "{key} {title}：{metric}已于 {due} 到期，超时 {late}。",
    ),
    "msg.reminder": ("{key} {title} needs your attention.", "{key} {title} 需要你处理。"),
    "msg.escalation": (
        "{key} {title} needs a hand: {metric} is {late} late.",
        "{key} {title} 需要协助：{metric}已超时 {late}。",
    ),
    "msg.escalation_plain": ("{key} {title} needs a hand.", "{key} {title} 需要协助。"),
    "msg.team_line": (
        "⏰ {key} {title}: {what} — held by {who}.",
        "⏰ {key} {title}：{what}——当前处理人 {who}。",
    ),
    "history.opened": ("opened {ago} ago", "{ago}前创建"),
    "history.not_accepted": ("not accepted yet", "尚未受理"),
    "history.status": ("now {status}", "当前{status}"),
    "history.notices": ("{n} earlier notice(s)", "此前已通知 {n} 次"),
    "duration.minutes": ("{m} min", "{m} 分钟"),
    "duration.hours": ("{h} h {m} min", "{h} 小时 {m} 分钟"),
    "duration.days": ("{d} d {h} h", "{d} 天 {h} 小时"),
    "msg.snoozed": (
        "Reminders about {key} are snoozed until {until}.",
        "{key} 的提醒已推迟到 {until}。",
    ),
}


def t(key: str, locale: Locale, /, **params: object) -> str:
    """Translate a message key; unknown keys come back as themselves so gaps are visible."""
    pair = _MESSAGES.get(key)
    if pair is None:
        return key
    template = pair[1] if locale == "zh-CN" else pair[0]
    return template.format(**params) if params else template


def has(key: str) -> bool:
    return key in _MESSAGES


def both(key: str, /, **params: object) -> dict[Locale, str]:
    return {loc: t(key, loc, **params) for loc in LOCALES}
