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
    "field.title": ("Title", "标题"),
    "field.description": ("Description", "描述"),
    "field.body": ("Comment", "评论"),
    "field.status": ("Status", "状态"),
    "field.priority": ("Priority", "优先级"),
    "field.requester": ("Requester", "提单人"),
    "field.assignee": ("Assignee", "处理人"),
    "field.team": ("Team", "团队"),
    "field.type": ("Type", "类型"),
    "field.created": ("Created", "创建时间"),
    "field.sla_due": ("SLA due", "SLA 截止"),
    "field.sla_due_for": ("SLA due ({target})", "SLA 截止（{target}）"),
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
        "You cannot use “{action}” on {key}: {reason}.",
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
    "reason.not_requester_or_lead": (
        "only the requester or the team's lead may do that",
        "只有提单人或团队负责人可以这样做",
    ),
    "err.close_forbidden": (
        # /close on a ticket not yet resolved withdraws it: the requester's or the lead's call
        "Only the requester or the team's lead may close {key} before it is resolved.",
        "{key} 尚未解决，只有提单人或团队负责人可以关闭它。",
    ),
    "reason.not_support": (
        "internal notes are for the support team only (the assignee, the team, its lead)",
        "内部备注仅限支持团队（处理人、团队成员、负责人）使用",
    ),
    "reason.not_editor": (
        "only the requester, the assignee or the team may edit it",
        "只有提单人、处理人或团队成员可以修改",
    ),
    "action.edit": ("Edit", "修改"),
    "action.attach": ("Attach a file", "添加附件"),
    "action.note": ("Internal note", "内部备注"),
    "err.version_conflict": (
        "{key} changed since you read it (you saw version {seen}, it is now {now}); reload and try again.",
        "{key} 在你读取后已被修改（你看到的是第 {seen} 版，现在是第 {now} 版），请刷新后重试。",
    ),
    "err.nothing_to_edit": ("Nothing to change.", "没有需要修改的内容。"),
    "comment.internal": ("Internal note (team only)", "内部备注（仅团队可见）"),
    "comment.public": ("Reply", "回复"),
    "chat.help_title": ("Commands:", "可用命令："),
    "chat.help.new": ("/new [type]: open a ticket with a form", "/new [类型] —— 填写表单新建工单"),
    "chat.help.mine": ("/mine: your open requests", "/mine —— 我提交的未完成工单"),
    "chat.help.queue": (
        "/queue: your tickets and your team's unassigned ones (agents)",
        "/queue —— 处理人：分派给我的工单和团队未分派的工单",
    ),
    "chat.help.status": (
        "/status KEY: show the ticket's card here",
        "/status 工单号 —— 在此显示工单卡片",
    ),
    "chat.help.close": (
        "/close KEY: close (or withdraw) a request",
        "/close 工单号 —— 关闭（或撤销）工单",
    ),
    "chat.help.note": (
        "/note KEY text: an internal note, for the support team only",
        "/note 工单号 内容 —— 内部备注，仅团队可见",
    ),
    "chat.help.help": ("/help: this list", "/help —— 显示本帮助"),
    "chat.help_unknown": ("{command} is not a command.", "没有 {command} 这个命令。"),
    "chat.help_usage": ("Usage:", "用法："),
    "chat.mine_none": ("You have no open requests.", "你没有未完成的工单。"),
    "chat.mine_title": ("Your open requests ({n}):", "你的未完成工单（{n} 张）："),
    "chat.queue_none": ("Your queue is empty.", "你的队列是空的。"),
    "chat.queue_title": (
        "Your queue: {mine} assigned to you, {unassigned} unassigned in your team(s).",
        "你的队列：分派给你 {mine} 张，团队未分派 {unassigned} 张。",
    ),
    "chat.queue_not_agent": (
        "/queue is for the support team; you are in no team. Try /mine.",
        "/queue 仅供支持团队使用，你不在任何团队中。可以试试 /mine。",
    ),
    "chat.line": ("{key} [{status}] {title}", "{key}【{status}】{title}"),
    "chat.already": ("{key} “{title}” is already {status}.", "{key}“{title}”已是“{status}”状态。"),
    # what /close did: closed a resolved ticket, or withdrew (cancelled) one still open
    "chat.closed": ("Closed {key} “{title}”.", "已关闭 {key}“{title}”。"),
    "chat.cancelled": (
        "Cancelled {key} “{title}”: it was not resolved yet, so closing it withdrew the request.",
        "已取消 {key}“{title}”：工单尚未解决，关闭即撤回了这个请求。",
    ),
    "chat.more": (
        "… and more: see the web chat or the REST API",
        "……更多请在网页聊天或 REST API 中查看",
    ),
    "chat.follow_up": (
        "Added to {key}. Messages you send here in the next {minutes} min go to it too.",
        "已补充到 {key}。接下来 {minutes} 分钟内你在这里发的消息也会补充到这张工单。",
    ),
    "chat.commented": ("Added to {key} as a comment.", "已作为评论添加到 {key}。"),
    "chat.no_such_type": (
        "There is no ticket type “{type}”. Types you can open: {types}. For example: {example}",
        "没有“{type}”这个工单类型。可以新建的类型：{types}。例如：{example}",
    ),
    "chat.type_item": ("{id} ({name})", "{id}（{name}）"),
    "chat.list_separator": (", ", "、"),
    "chat.noted": ("Internal note added to {key}.", "已为 {key} 添加内部备注。"),
    "notice.accepted": ("{key} {title}: accepted by {who}.", "{key} {title}：{who} 已受理。"),
    "notice.waiting": (
        "{key} {title}: {who} needs your reply.",
        "{key} {title}：{who} 需要你的回复。",
    ),
    "notice.waiting_question": (
        "{key} {title}: {who} needs your reply: {question}",
        "{key} {title}：{who} 需要你的回复：{question}",
    ),
    "notice.resolved": ("{key} {title}: resolved by {who}.", "{key} {title}：{who} 已解决。"),
    "notice.resolved_with": (
        "{key} {title}: resolved by {who}: {resolution}",
        "{key} {title}：{who} 已解决：{resolution}",
    ),
    "notice.reopened": (
        "{key} {title}: reopened by {who}.",
        "{key} {title}：{who} 重新打开了工单。",
    ),
    "notice.assigned": (
        "{key} {title} is now assigned to you (by {who}).",
        "{who} 将 {key} {title} 分派给你。",
    ),
    "notice.assigned_auto": (
        "{key} {title} is now assigned to you.",
        "{key} {title} 已分派给你。",
    ),
    "notice.taken_over": (
        "{who} took over {key} {title}; it is no longer yours.",
        "{who} 接手了 {key} {title}，这张工单不再由你处理。",
    ),
    "notice.reassigned_away": (
        "{key} {title} was reassigned to {to} by {who}.",
        "{key} {title} 已由 {who} 转派给 {to}。",
    ),
    "notice.system": ("the system", "系统"),
    "msg.opened": ("Ticket {key} opened: {title}", "已创建工单 {key}：{title}"),
    "msg.comment_by": ("{who} commented on {key}", "{who} 评论了 {key}"),
    "msg.fill_form": ("Please fill in the {type} form.", "请填写“{type}”表单。"),
    "action.snooze": ("Snooze 30 min", "30 分钟后再提醒"),
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
    "history.notices": ("{n} earlier notices", "此前已通知 {n} 次"),
    "history.notice_one": ("1 earlier notice", "此前已通知 1 次"),
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
