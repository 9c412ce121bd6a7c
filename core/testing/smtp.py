"""A real SMTP server for tests (aiosmtpd on 127.0.0.1) and a runtime that sends through it:
e-mail tests run the outbox against a server, never a mock."""

from __future__ import annotations

import socket
from dataclasses import replace
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from core.config import SmtpSettings
from core.runtime import Runtime


class Inbox:
    """An aiosmtpd handler that keeps what it receives and bounces addresses starting "bounce@"."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if address.startswith("bounce@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(envelope.content)
        return "250 Message accepted"

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.parsed() if m["Message-ID"]]

    def parsed(self) -> list[EmailMessage]:
        return [message_from_bytes(content, policy=policy.default) for content in self.messages]  # type: ignore[misc]

    def to(self, address: str) -> list[EmailMessage]:
        """The messages received for ``address``."""
        return [m for m in self.parsed() if address in str(m["To"])]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_inbox(port: int) -> tuple[Controller, Inbox]:
    """An SMTP server on 127.0.0.1:``port``, started (stop the controller when done)."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, inbox


def mailing(runtime: Runtime, port: int, **settings: object) -> Runtime:
    """``runtime`` sending its outbox to the SMTP server on 127.0.0.1:``port``."""
    smtp = SmtpSettings(
        host="127.0.0.1",
        port=port,
        username=None,
        password=None,
        security="none",
        sender="crm@acme.example.com",
        timeout_s=5,
    )
    return Runtime(
        settings=replace(runtime.settings, smtp=smtp, **settings),  # type: ignore[arg-type]
        db=runtime.db,
        permissions=runtime.permissions,
    )
