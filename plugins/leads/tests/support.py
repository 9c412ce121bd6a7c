"""A broker with the Leads module obtained, and shortcuts."""

from __future__ import annotations

from typing import Any

from core.sdk.testing import ApiSession, TenantHandle, expect

API = "/api/v1/plugins/leads"


class Desk:
    def __init__(self, crm: Any, slug: str = "acme") -> None:
        self.crm = crm
        self.tenant: TenantHandle = crm.tenant(slug)
        self.admin: ApiSession = self.tenant.admin
        expect(self.admin.post("/api/v1/marketplace/leads/install"), 200)  # "Obtain"

    def lead(self, session: ApiSession | None = None, **fields: Any) -> dict[str, Any]:
        body = {"name": "Lena Lead", **fields}
        return expect((session or self.admin).post(f"{API}/leads", json=body), 201)

    def get(self, lead: dict[str, Any]) -> dict[str, Any]:
        return expect(self.admin.get(f"{API}/leads/{lead['id']}"), 200)

    def settings(self, **values: Any) -> None:
        expect(self.admin.put("/api/v1/marketplace/leads/settings", json={"values": values}), 200)

    def activities(self, lead: dict[str, Any]) -> list[dict[str, Any]]:
        return expect(self.admin.get(f"{API}/leads/{lead['id']}/activities"), 200)
