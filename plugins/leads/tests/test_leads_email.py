"""The registration e-mail through a real local SMTP server: it arrives once, and its link
registers and converts the lead."""

from __future__ import annotations

import re

from core.sdk.testing import deliver_due, expect, free_port, mailing, start_inbox
from plugins.leads.tests.support import API


def test_the_registration_email_arrives_once_and_its_link_converts_the_lead(desk):
    lead = desk.lead(name="Ana Souza", email="ana@example.com")
    expect(
        desk.admin.post(f"{API}/leads/{lead['id']}/registration-email", json={"client_type": "trader"}), 200
    )
    port = free_port()
    controller, inbox = start_inbox(port)
    try:
        mailer = mailing(desk.crm.runtime, port)
        deliver_due(mailer)
        deliver_due(mailer)  # nothing is sent twice
    finally:
        controller.stop()
    received = inbox.to("ana@example.com")
    assert len(received) == 1
    body = received[0].get_body(preferencelist=("plain",)).get_content()
    token = re.search(r"/portal/invitation\?token=([A-Za-z0-9_-]+)", body).group(1)
    opened = desk.crm.anonymous.post(
        "/api/v1/portal/invitation/accept", json={"token": token, "password": "Ana-Passw0rd-77"}
    )
    client = expect(opened, 201)["client"]
    after = desk.get(lead)
    assert (after["portal_status"], after["client_id"]) == ("registered", client["id"])
    assert after["last_email_sent_at"] is not None
