"""Outgoing mail. The default transport writes the message to the server log; an operator who
wants real delivery replaces :data:`transport` (e.g. with an SMTP sender) at start-up."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threadline.auth.models import Invitation, User

log = logging.getLogger("threadline.mail")


def log_transport(to: str, subject: str, body: str) -> None:
    log.info("mail to=%s subject=%r\n%s", to, subject, body)


transport: Callable[[str, str, str], None] = log_transport


def send_invitation_mail(*, invitation: Invitation, code: str, sender: User) -> None:
    """Tell the invitee how to join."""
    transport(
        invitation.email,
        f"{sender.name} invited you to {invitation.workspace.name} on Threadline",
        f"Join as {invitation.role.value} with invitation code {code}\n"
        f"(valid until {invitation.expires_at:%Y-%m-%d %H:%M} UTC).",
    )
