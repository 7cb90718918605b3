"""Accessibility: axe-core over every page, light and dark, on a desktop and on a phone.

The pages are built from real objects (the personas, their groups, a thread with a reply, a
+1, a flag and a hidden note, live and turned-off invitation links, an archived group), so
each page shows the states a reader meets. A serious or critical violation anywhere fails,
listed by page, rule, impact and the selectors axe points at.

One browser context per device and colour scheme visits every page in turn.
"""

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from axe_playwright_python.sync_playwright import Axe
from django.test import Client
from django.utils import timezone

from accounts.tokens import api_token_create
from annotations import services as annotation_services
from groups.models import ReadingGroup
from groups.services import (
    email_invitations_send,
    group_create,
    invite_link_create,
    invite_link_revoke,
)
from tests.annotating import create, reply_to

pytestmark = pytest.mark.browser

AXE_OPTIONS = {
    "resultTypes": ["violations"],
    # Experimental in axe-core, but it is WCAG 2.5.3 (label in name): a control's accessible
    # name must contain the words it shows, or speech users cannot say what they see.
    "rules": {"label-content-name-mismatch": {"enabled": True}},
}
FAILING_IMPACTS = {"serious", "critical"}
DEVICES = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {
        "viewport": {"width": 375, "height": 740},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}


@pytest.fixture
def pages(transactional_db, facilitator, member, outsider, group, essay):
    """(who, what, path, status) for every kind of page, over real objects."""
    comment = create(group, essay, member, body="Is **full democracy** the whole premise?")
    answer = reply_to(comment, facilitator, body="Read the next section, @maria.")
    hidden = reply_to(comment, member, body="Off-topic aside.")
    annotation_services.annotation_plus_one(annotation=comment, user=facilitator)
    annotation_services.annotation_mark_answer(reply=answer, is_answer=True)
    annotation_services.annotation_flag(annotation=answer, user=member, reason="Spoiler?")
    annotation_services.annotation_hide(annotation=hidden, by=facilitator, note="Keep to the text")

    link = invite_link_create(
        group=group,
        created_by=facilitator,
        label="Newsletter",
        expires_at=timezone.now() + timedelta(days=7),
        max_uses=5,
    )
    turned_off = invite_link_create(group=group, created_by=facilitator, label="Old link")
    invite_link_revoke(link=turned_off)
    # the token is on the objects that made it only (the database keeps its hash)
    (invitation,), _ = email_invitations_send(
        group=group, invited_by=facilitator, emails=[outsider.email]
    )
    archived = group_create(name="Archived Circle", created_by=facilitator)
    ReadingGroup.objects.filter(pk=archived.pk).update(archived_at=timezone.now())

    api_token_create(user=member, name="Zotero sync")
    EmailAddress.objects.create(user=member, email=member.email, verified=True, primary=True)
    EmailAddress.objects.create(user=member, email="maria@elsewhere.test", verified=False)
    EmailAddress.objects.create(user=outsider, email=outsider.email, verified=True, primary=True)

    g = f"/groups/{group.slug}"
    r = f"{g}/readings/{essay.slug}"
    block = essay.blocks.first()
    return [
        (None, "home", "/", 200),
        (None, "log in", "/accounts/login/", 200),
        (None, "sign up", "/accounts/signup/", 200),
        (None, "password reset", "/accounts/password/reset/", 200),
        (None, "password reset sent", "/accounts/password/reset/done/", 200),
        (None, "password reset link expired", "/accounts/password/reset/key/1-x/", 200),
        (None, "join by link", f"/join/{link.token}/", 200),
        (None, "invitation problem", f"/join/{turned_off.token}/", 410),
        (None, "not found", "/no-such-page/", 404),
        (member, "home", "/", 200),
        (member, "library", "/readings/", 200),
        (member, "reading detail", f"/readings/{essay.slug}/", 200),
        (member, "group home", f"{g}/", 200),
        (member, "group reading page", f"{r}/", 200),
        (member, "thread list", f"{r}/threads/", 200),
        (member, "thread page", f"{r}/threads/{comment.pk}/", 200),
        (member, "annotate page", f"{r}/annotate/{block.anchor}/", 200),
        (member, "edit page", f"{r}/notes/{comment.pk}/edit/", 200),
        (member, "profile", "/accounts/profile/", 200),
        (member, "email addresses", "/accounts/email/", 200),
        (member, "change password", "/accounts/password/change/", 200),
        (member, "API tokens", "/accounts/tokens/", 200),
        (member, "log out", "/accounts/logout/", 200),
        (member, "another group (404)", f"/groups/{archived.slug}/", 404),
        (facilitator, "home with an archived group", "/", 200),
        (facilitator, "group home", f"{g}/", 200),
        (facilitator, "group settings", f"{g}/settings/", 200),
        (facilitator, "invitations", f"{g}/invitations/", 200),
        (facilitator, "group reading page", f"{r}/", 200),
        (facilitator, "thread page", f"{r}/threads/{comment.pk}/", 200),
        (outsider, "home with an invitation", "/", 200),
        (outsider, "join by link", f"/join/{link.token}/", 200),
        (outsider, "email invitation", f"/invitations/{invitation.token}/", 200),
    ]


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def described(violation: dict, where: str) -> str:
    targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
    shown = ", ".join(targets[:6]) + (f" (+{len(targets) - 6} more)" if len(targets) > 6 else "")
    first = violation["nodes"][0].get("failureSummary", "").replace("\n", " ")
    return (
        f"{where}: {violation['id']} ({violation['impact']}) {violation['help']}\n"
        f"    at {shown}\n    {first[:240]}"
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_no_page_has_a_serious_accessibility_violation(browser, live_server, pages, device, scheme):
    axe = Axe()
    cookies = {}
    context = browser.new_context(base_url=live_server.url, color_scheme=scheme, **DEVICES[device])
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems, wrong_status = [], []
    try:
        for who, what, path, status in pages:
            context.clear_cookies()
            if who is not None:
                if who.pk not in cookies:
                    cookies[who.pk] = session_cookie(who)
                context.add_cookies(
                    [{"name": "sessionid", "value": cookies[who.pk], "url": live_server.url}]
                )
            response = page.goto(path)
            if response.status != status:
                wrong_status.append(f"{path} answered {response.status}, not {status}")
                continue
            if "/readings/" in path and path.startswith("/groups/"):
                page.wait_for_load_state("networkidle")  # the layer's highlights are drawn
            where = f"[{scheme} {device}] {what} ({who.username if who else 'visitor'}) {path}"
            results = axe.run(page, options=AXE_OPTIONS)
            problems += [
                described(violation, where)
                for violation in results.response["violations"]
                if violation["impact"] in FAILING_IMPACTS
            ]
    finally:
        context.close()

    assert wrong_status == []
    assert not problems, f"{len(problems)} serious or critical violations:\n" + "\n".join(problems)
