"""The emails themselves: one per notification sent straight away, one digest per member and
day. Each is plain text plus HTML, says which group it is from, quotes the passage and the
words, links into the app, and carries the one-click unsubscribe of RFC 8058 (a signed link,
no log-in, with `List-Unsubscribe` and `List-Unsubscribe-Post` headers) and a link to the
member's settings. Replying by email is not supported: the sender is a no-reply address.
"""

import re
from datetime import datetime
from email.utils import formataddr, parseaddr
from itertools import groupby

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.text import Truncator

from notifications.describe import FORMER_MEMBER, describe
from notifications.models import Kind, Notification
from notifications.tokens import unsubscribe_token

SUBJECT_LENGTH = 140
NAME_LENGTH = 60


def one_line(value: str, length: int) -> str:
    """User text made safe for a header: no control characters, one line, not too long."""
    printable = "".join(ch if ch.isprintable() else " " for ch in value)
    return Truncator(" ".join(printable.split())).chars(length)


def _absolute(path: str) -> str:
    return settings.SITE_URL + path


def absolute_links(html: str) -> str:
    """Cleaned HTML made for a mail client: site-relative links (an @mention's) absolute,
    links in the site's colour and paragraphs spaced, inline (mail clients drop stylesheets)."""
    html = re.sub(r'href="/(?!/)', f'href="{settings.SITE_URL}/', html or "")
    html = html.replace("<a ", '<a style="color:#8a3322;" ')
    return html.replace("<p>", '<p style="margin:0 0 10px;">')


def _sender(group_name: str | None) -> str:
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    name = name or settings.SITE_NAME
    if group_name:
        name = f"{one_line(group_name, NAME_LENGTH)} via {name}"
    return formataddr((name, address))


def _message(*, user, subject, template, context, unsubscribe_kind, list_id=None):
    token = unsubscribe_token(user.pk, unsubscribe_kind)
    unsubscribe_url = _absolute(reverse("notifications:unsubscribe", args=[token]))
    context = {
        **context,
        "recipient": user,
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "settings_url": _absolute(reverse("notifications:settings")),
        "inbox_url": _absolute(reverse("notifications:inbox")),
        "unsubscribe_url": unsubscribe_url,
        "unsubscribe_what": (
            "the daily digest"
            if unsubscribe_kind == "digest"
            else f"emails about {Kind(unsubscribe_kind).label.lower()}"
        ),
    }
    headers = {
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
        "X-Auto-Response-Suppress": "All",
    }
    if list_id:
        headers["List-Id"] = list_id
    message = EmailMultiAlternatives(
        subject=one_line(subject, SUBJECT_LENGTH),
        body=render_to_string(f"notifications/email/{template}.txt", context),
        from_email=_sender(context.get("group_name")),
        to=[user.email],
        headers=headers,
    )
    message.attach_alternative(
        render_to_string(f"notifications/email/{template}.html", context), "text/html"
    )
    return message


def _list_id(group) -> str:
    """`List-Id` (RFC 2919): the group's name as a phrase, quoted so that nothing in it reads
    as a second id, and an id made of the group's slug and the site's host name."""
    name = " ".join(re.sub(r'[\\"<>]', " ", one_line(group.name, NAME_LENGTH)).split())
    host = settings.SITE_DOMAIN.split(":")[0] or "localhost"
    return f'"{name}" <{group.slug}.{host}>'


def _writer(notification: Notification) -> str:
    """Who wrote the words an email quotes: the annotation's author (not whoever marked it the
    answer, or flagged it), named as the permission table names them."""
    item = notification.annotation
    if item is None or item.author is None:
        return FORMER_MEMBER
    return item.author.public_name


def notification_message(notification: Notification, *, now: datetime):
    user = notification.recipient
    described = describe(notification, zone_name=user.time_zone, now=now)
    url = _absolute(reverse("notifications:open", args=[notification.pk]))
    return _message(
        user=user,
        subject=described.subject,
        template="notification",
        context={
            "n": notification,
            "d": described,
            "words_html": absolute_links(described.words_html),
            "writer": _writer(notification),
            "preheader": described.words_text or described.detail or described.quote,
            "url": url,
            "group_name": notification.group.name,
        },
        unsubscribe_kind=notification.kind,
        list_id=_list_id(notification.group),
    )


def digest_message(user, notifications: list[Notification], *, now: datetime):
    """One email for the day: the notifications grouped by group (groups by name, each
    group's news oldest first, as it happened)."""
    ordered = sorted(notifications, key=lambda n: (n.group.name.lower(), n.group_id, n.created_at))
    groups = []
    for _, items in groupby(ordered, key=lambda n: n.group_id):
        items = list(items)
        groups.append(
            {
                "group": items[0].group,
                "items": [
                    {
                        "n": n,
                        "d": describe(n, zone_name=user.time_zone, now=now),
                        "url": _absolute(reverse("notifications:open", args=[n.pk])),
                    }
                    for n in items
                ],
            }
        )
    count = len(notifications)
    names = ", ".join(g["group"].name for g in groups)
    subject = f"Your daily digest: {count} update{'' if count == 1 else 's'} from {names}"
    return _message(
        user=user,
        subject=subject,
        template="digest",
        context={
            "groups": groups,
            "count": count,
            "group_name": groups[0]["group"].name if len(groups) == 1 else None,
            "preheader": "; ".join(item["d"].headline for g in groups for item in g["items"]),
        },
        unsubscribe_kind="digest",
        list_id=_list_id(groups[0]["group"]) if len(groups) == 1 else _digest_list_id(),
    )


def _digest_list_id() -> str:
    host = settings.SITE_DOMAIN.split(":")[0] or "localhost"
    name = " ".join(re.sub(r'[\\"<>]', " ", one_line(settings.SITE_NAME, NAME_LENGTH)).split())
    return f'"{name} digest" <digest.{host}>'
