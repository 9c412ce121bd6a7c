"""Who loads the system in ``bench/load.py`` (a locustfile): portal clients and back-office staff
of the demo broker. Not run alone: ``bench/load.py`` prepares the data and passes it in
``CRM_LOAD_CONFIG`` (a JSON file).

Each request is named by its kind (the report's rows). A refusal the product gives on purpose —
a coupon already used, a promo code used up, an order paid meanwhile by another member of staff —
is a correct answer and counted as such under its own name; any other status is an error. Every
order a checkout was told it placed is written down, so that ``bench/load.py`` can check that
none was lost.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from typing import Any

from locust import HttpUser, between, events, tag, task

CONFIG: dict[str, Any] = json.loads(open(os.environ["CRM_LOAD_CONFIG"]).read())  # noqa: SIM115
PLACED: list[int] = []  # every order id a checkout answered 201 for


@events.quitting.add_listener
def _write_placed(environment: Any, **_kwargs: Any) -> None:
    with open(CONFIG["placed_file"], "w") as out:
        json.dump(PLACED, out)


def _expect(response: Any, ok: set[int], refused: set[int] = frozenset()) -> bool:  # type: ignore[assignment]
    """Success for an expected status; a deliberate refusal is renamed, anything else fails."""
    if response.status_code in ok:
        response.success()
        return True
    if response.status_code in refused:
        response.request_meta["name"] = f"{response.request_meta['name']} (refused, as it should)"
        response.success()
        return False
    response.failure(f"{response.status_code}: {response.text[:200]}")
    return False


class PortalClient(HttpUser):
    """A client: signs in, looks at the challenges with their prices, checks out (with the
    welcome coupon, the promo code, both or neither), looks at their orders."""

    weight = 8
    wait_time = between(0.2, 1.5)

    def on_start(self) -> None:
        self.email = random.choice(CONFIG["client_emails"])
        self.sign_in()

    @tag("sign-in")
    @task(1)
    def sign_in(self) -> None:
        body = {"tenant": CONFIG["tenant"], "email": self.email, "password": CONFIG["password"]}
        with self.client.post(
            "/api/v1/portal/auth/login", json=body, name="portal: sign in", catch_response=True
        ) as r:
            if _expect(r, {200}):
                self.client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"

    @task(5)
    def offers(self) -> None:
        with self.client.get(
            "/api/v1/portal/prop/challenges", name="portal: challenge offers", catch_response=True
        ) as r:
            _expect(r, {200})

    @task(3)
    def checkout(self) -> None:
        options: dict[str, Any] = {}
        choice = random.random()
        if choice < 0.4:
            options["coupon_id"] = CONFIG["coupon_id"]
        elif choice < 0.7:
            options["promo_code"] = CONFIG["promo_code"]
        elif choice < 0.8:
            options = {"coupon_id": CONFIG["coupon_id"], "promo_code": CONFIG["promo_code"]}
        body = {"challenge_id": random.choice(CONFIG["challenge_ids"]), "options": options}
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        kind = "portal: checkout" + (" with " + " and ".join(sorted(options)) if options else "")
        with self.client.post(
            "/api/v1/portal/prop/orders", json=body, headers=headers, name=kind, catch_response=True
        ) as r:
            if _expect(r, {201}, refused={409, 422}):
                PLACED.append(r.json()["id"])

    @task(2)
    def my_orders(self) -> None:
        with self.client.get(
            "/api/v1/portal/prop/orders", name="portal: my orders", catch_response=True
        ) as r:
            _expect(r, {200})


class Staff(HttpUser):
    """Back-office staff: the client list and its CSV export, the order list, payments recorded
    (or failed) for placed orders."""

    weight = 2
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        body = {"tenant": CONFIG["tenant"], "email": CONFIG["staff_email"], "password": CONFIG["password"]}
        with self.client.post(
            "/api/v1/auth/login", json=body, name="staff: sign in", catch_response=True
        ) as r:
            if _expect(r, {200}):
                self.client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"

    @task(4)
    def clients(self) -> None:
        page = random.randint(1, 100)
        with self.client.get(
            f"/api/v1/clients?page={page}&per_page=50", name="staff: clients list", catch_response=True
        ) as r:
            _expect(r, {200})

    @tag("export")
    @task(1)
    def export(self) -> None:
        with self.client.get(
            "/api/v1/clients/export", name="staff: clients CSV export", catch_response=True
        ) as r:
            _expect(r, {200})

    @task(4)
    def payments(self) -> None:
        with self.client.get(
            "/api/v1/prop/orders?status=placed&per_page=20", name="staff: placed orders", catch_response=True
        ) as r:
            if not _expect(r, {200}) or not r.json()["items"]:
                return
            order = random.choice(r.json()["items"])
        outcome = "paid" if random.random() < 0.8 else "failed"
        with self.client.post(
            f"/api/v1/prop/orders/{order['id']}/{outcome}",
            name=f"staff: order {outcome}",
            catch_response=True,
        ) as r:
            _expect(r, {200}, refused={409})
