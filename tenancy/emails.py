"""Outgoing mail of the tenancy app."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from tenancy.models import Invitation


def absolute_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def send_invitation_email(*, invitation: Invitation, token: str) -> None:
    context = {
        "invitation": invitation,
        "tenant": invitation.tenant,
        "role": invitation.get_role_display(),
        "link": absolute_url(reverse("invitation_accept", args=[token])),
    }
    send_mail(
        subject=f"[Uplift] {invitation.tenant.name} invites you to join as {context['role']}",
        message=render_to_string("emails/invitation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[invitation.email],
        html_message=render_to_string("emails/invitation.html", context),
    )
