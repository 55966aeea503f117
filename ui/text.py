"""Words and times as people read them: shared by delegates, accessible names and notifications."""

from __future__ import annotations

import time

from parley.app.events import MessageStatus, MessageView

STATUS_WORDS: dict[MessageStatus, str] = {
    "sending": "sending",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "failed": "not sent",
    "rejected": "rejected by the recipient",
}

STATUS_TICKS: dict[MessageStatus, str] = {
    "sending": "\u25cb",  # hollow circle: still on this machine
    "sent": "\u2713",  # one tick: the relay has it
    "delivered": "\u2713\u2713",  # two ticks: the contact's device has it
    "read": "\u2713\u2713",  # two ticks, drawn in the accent colour
    "failed": "!",
    "rejected": "!",
}


def short_time(timestamp: float, *, now: float) -> str:
    """ "14:05" today, "Mon" this week, "2026-03-01" before that."""
    when = time.localtime(timestamp)
    today = time.localtime(now)
    if (when.tm_year, when.tm_yday) == (today.tm_year, today.tm_yday):
        return time.strftime("%H:%M", when)
    if 0 <= now - timestamp < 6 * 86400:
        return time.strftime("%a", when)
    return time.strftime("%Y-%m-%d", when)


def human_time(timestamp: float, *, now: float) -> str:
    """A moment in local time as people say it: "today at 14:05", "yesterday at 09:12",
    "Mon 30 Nov at 18:00", "3 Mar 2025 at 08:15"."""
    when = time.localtime(timestamp)
    today = time.localtime(now)
    clock = time.strftime("%H:%M", when)
    days = (
        time.mktime((*today[:3], 0, 0, 0, 0, 0, -1)) - time.mktime((*when[:3], 0, 0, 0, 0, 0, -1))
    ) / 86400
    if round(days) == 0:
        return f"today at {clock}"
    if round(days) == 1:
        return f"yesterday at {clock}"
    if round(days) == -1:
        return f"tomorrow at {clock}"
    if when.tm_year == today.tm_year:
        return f"{time.strftime('%a', when)} {when.tm_mday} {time.strftime('%b', when)} at {clock}"
    return f"{when.tm_mday} {time.strftime('%b %Y', when)} at {clock}"


def day_label(timestamp: float, *, now: float) -> str:
    """The date separator between days of a conversation: "Today", "Yesterday", "Mon 30 Nov",
    "3 Mar 2025"."""
    label = human_time(timestamp, now=now).split(" at ")[0]
    return label[:1].upper() + label[1:]


def same_day(first: float, second: float) -> bool:
    a, b = time.localtime(first), time.localtime(second)
    return (a.tm_year, a.tm_yday) == (b.tm_year, b.tm_yday)


def clock_time(timestamp: float) -> str:
    return time.strftime("%H:%M", time.localtime(timestamp))


def message_accessible_text(message: MessageView, *, now: float) -> str:
    """What a screen reader says for a bubble: who, when, what, and its delivery state."""
    if message.kind == "system":
        return f"Notice from Parley, {short_time(message.sent_at, now=now)}: {message.body}"
    who = "You" if message.direction == "out" else message.sender_name
    what = message.body
    if message.attachment is not None:
        what = f"picture {message.attachment.file_name}. {what}".strip()
    if message.reply is not None:
        quoted = message.reply.text or ("a picture" if message.reply.picture else "a message")
        claim = "" if message.reply.found else ", not in your history"
        what = f"replying to {message.reply.author}{claim}, \u201c{quoted}\u201d: {what}"
    text = f"{who}, {short_time(message.sent_at, now=now)}: {what}"
    if message.direction == "out":
        text += f" ({STATUS_WORDS[message.status]})"
    if message.reactions:
        chips = ", ".join(
            f"{r.emoji} {r.count}{' including yours' if r.mine else ''}" for r in message.reactions
        )
        text += f". Reactions: {chips}"
    return text


def group_digits(digits: str, *, group: int = 5, per_line: int = 4) -> str:
    """60 safety-number digits as 12 groups of 5, four groups to a line."""
    groups = [digits[i : i + group] for i in range(0, len(digits), group)]
    lines = [" ".join(groups[i : i + per_line]) for i in range(0, len(groups), per_line)]
    return "\n".join(lines)


def file_size(size: int) -> str:
    """A size as people read it: "812 bytes", "3.4 KiB", "1.2 MiB"."""
    if size < 1024:
        return f"{size} byte{'' if size == 1 else 's'}"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"
