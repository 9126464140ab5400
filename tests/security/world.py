"""A small world of real objects, planted through the API, to fill every route's path
parameters with: customers with legal-entity overrides that carry a marker, a change
request, an import job, a duplicate cluster, a merge, hierarchy links, relationships,
org units, team assignments, templates and account settings."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from custmaster.bootstrap import Container
from custmaster.services.dedup.batch import run_batch
from custmaster.services.recording import utcnow
from custmaster.services.webhooks.fanout import fan_out
from tests.factories import create, minimal, seed_reference
from tests.security.routes import Route

API = "/api/v1"
#: A value only DE01's data holds: a GB01-scoped user must never see it.
MARKER = "Zx9DE01SECRETQv"
MARKER_LIMIT = "424242.42"


def _de01_override() -> dict[str, Any]:
    return {
        "credit_limit": MARKER_LIMIT,
        "payment_terms": "NET45",
        "addresses": [
            {
                "type": "billing",
                "lines": [f"{MARKER} Strasse 1"],
                "city": f"{MARKER}stadt",
                "postal_code": "10115",
                "country": "DE",
                "is_primary": True,
            }
        ],
    }


def _customer(name: str, owning: str, **extra: Any) -> dict[str, Any]:
    slug = "".join(c for c in name.lower() if c.isalnum())
    return minimal(name, f"ap@{slug}.example", owning_entity=owning, **extra)


@dataclass
class World:
    """What was planted: values for path parameters, by parameter name (the first one is
    the default; several are tried where listed)."""

    values: dict[str, list[str]] = field(default_factory=dict)
    #: ``{code}`` by collection path (``/api/v1/legal-entities`` -> ``DE01``)
    codes: dict[str, str] = field(default_factory=dict)

    def fill(self, route: Route, client: TestClient) -> list[dict[str, str]]:
        """Every filling of the route's path parameters to try (one per value of its
        first multi-valued parameter)."""
        base: dict[str, str] = {}
        multi: tuple[str, list[str]] | None = None
        for name in route.path_params:
            options = self._options(route, name, client)
            base[name] = options[0]
            if len(options) > 1 and multi is None:
                multi = (name, options)
        if multi is None:
            return [base]
        return [{**base, multi[0]: value} for value in multi[1]]

    def _options(self, route: Route, name: str, client: TestClient) -> list[str]:
        collection = route.path.split(f"/{{{name}", 1)[0]
        if collection in self.codes:
            return [self.codes[collection]]
        if name in self.values:
            return self.values[name]
        listed = client.get(collection, params={"limit": 1})
        if listed.status_code == 200:
            body = listed.json()
            items = body.get("items", body) if isinstance(body, dict) else body
            if items and isinstance(items[0], dict):
                for key in (name, "code", "name", "id"):
                    if key in items[0]:
                        return [str(items[0][key])]
        raise AssertionError(
            f"the security suite cannot fill {{{name}}} of {route}: plant such an object in "
            "tests/security/world.py"
        )


def _a_delivery(admin: TestClient, container: Container, hook_id: str) -> str:
    """A delivery of the planted subscription (queued from the outbox, which on
    PostgreSQL may serve the newest events a moment later)."""
    for _ in range(100):
        fan_out(container.uow(), utcnow())
        found = admin.get(f"{API}/webhooks/{hook_id}/deliveries", params={"limit": 1}).json()
        if found["items"]:
            return str(found["items"][0]["id"])
        time.sleep(0.1)
    raise AssertionError("no webhook delivery was queued")


def plant(admin: TestClient, proposer: TestClient, container: Container) -> World:
    """Plant the world as an unscoped admin (changes apply at once under the tests'
    policy) and a sales rep (whose proposals wait for approval)."""
    seed_reference(admin)
    # a webhook subscription (a public address: nothing is delivered in this suite)
    hook = admin.post(
        f"{API}/webhooks",
        json={"url": "https://93.184.216.34/hook", "event_types": ["custmaster.customer.*"]},
    )
    assert hook.status_code == 201, hook.text
    for path, code in (("revenue-accounts", "4000"), ("account-tiers", "GOLD")):
        made = admin.post(f"{API}/{path}", json={"code": code, "name": code})
        assert made.status_code == 201, made.text
    victim = create(
        admin,
        _customer(
            "Victim Holdings Ltd",
            "GB01",
            overrides={"GB01": {"credit_limit": "1000"}, "DE01": _de01_override()},
            contacts=[
                {
                    "first_name": "Vic",
                    "last_name": "Tim",
                    "email": "vic@victim.example",
                    "is_primary": True,
                }
            ],
            source_refs=[{"source_system": "d365", "source_id": "DE-0001"}],
        ),
    )
    de_only = create(
        admin, _customer("Rhein Maschinen GmbH", "DE01", overrides={"DE01": _de01_override()})
    )
    other = create(admin, _customer("Thames Trading Ltd", "GB01"))
    # a pending proposal that touches DE01's override
    proposal = copy.deepcopy(_de01_override())
    proposal.pop("credit_limit")
    proposal.pop("payment_terms")
    proposed = proposer.patch(
        f"{API}/customers/{victim['id']}",
        json={"overrides": [{"action": "update", "entity": "DE01", **proposal}]},
    )
    assert proposed.status_code == 202, proposed.text
    # a merge whose snapshots hold DE01's override
    survivor = create(
        admin, _customer("Merge Survivor GmbH", "GB01", overrides={"DE01": _de01_override()})
    )
    absorbed = create(admin, _customer("Merge Absorbed GmbH", "GB01"))
    merged = admin.post(
        f"{API}/customers/{survivor['id']}/merge", json={"absorbed_ids": [absorbed["id"]]}
    )
    assert merged.status_code == 200, merged.text
    # duplicates for the review queue
    create(admin, _customer("Acme Corporation", "GB01", tax_id="GB980780684"))
    create(admin, _customer("ACME Corporation Ltd", "GB01", tax_id="GB980780684"))
    run_batch(container.uow, container.system_principal(), container.service_settings)
    # a trained match model version (GET /match/models/{version})
    trained = admin.post(f"{API}/match/models", json={})
    assert trained.status_code == 201, trained.text
    # structure
    link = admin.post(
        f"{API}/hierarchies/legal/links",
        json={"parent_id": victim["id"], "child_id": other["id"], "valid_from": "2026-01-01"},
    )
    assert link.status_code == 201, link.text
    related = admin.post(
        f"{API}/relationships",
        json={
            "customer_id": victim["id"],
            "related_id": other["id"],
            "relationship_type": "ship_to",
            "valid_from": "2026-01-01",
        },
    )
    assert related.status_code == 201, related.text
    unit = admin.post(
        f"{API}/org-units", json={"code": "HQ", "kind": "sales_organisation", "name": "HQ"}
    )
    assert unit.status_code == 201, unit.text
    in_unit = admin.post(
        f"{API}/org-units/HQ/customers",
        json={"customer_id": victim["id"], "valid_from": "2026-01-01"},
    )
    assert in_unit.status_code == 201, in_unit.text
    team = admin.post(
        f"{API}/team-assignments",
        json={
            "user_id": "sec-sales_rep",
            "role": "key_account_manager",
            "valid_from": "2026-01-01",
            "customer_id": victim["id"],
        },
    )
    assert team.status_code == 201, team.text
    template = admin.post(
        f"{API}/customer-templates",
        json={"name": "Retail", "defaults": {"customer_type": "retail"}},
    )
    assert template.status_code == 201, template.text
    hours = admin.put(
        f"{API}/customers/{victim['id']}/operating-hours",
        json={"timezone": "Europe/London", "weekly": {"monday": ["08:00-12:00"]}},
    )
    assert hours.status_code == 200, hours.text
    visits = admin.put(
        f"{API}/customers/{victim['id']}/visit-settings", json={"frequency": "weekly"}
    )
    assert visits.status_code == 200, visits.text
    affix = admin.post(f"{API}/name-affixes", json={"code": "DR", "name": "Dr.", "kind": "title"})
    assert affix.status_code == 201, affix.text
    sales_org = admin.post(
        f"{API}/sales-organisations",
        json={"code": "DE10", "name": "Sales Germany", "legal_entity": "DE01", "currency": "EUR"},
    )
    assert sales_org.status_code == 201, sales_org.text
    # a saved segment of DE01 (GET /segments/{segment_id}) whose description carries the marker
    segment = admin.post(
        f"{API}/segments",
        json={
            "name": "de01_complaints",
            "expression": "open_quality_complaints > 0",
            "entity": "DE01",
            "description": f"{MARKER} watch list",
        },
    )
    assert segment.status_code == 201, segment.text
    # an import for DE01 (validated only) whose rows carry the marker
    csv = (
        "source_id,kind,name,email,owning_entity,billing_street,billing_city,billing_country\n"
        f"R-1,organization,Import Rhein GmbH,ap@importrhein.example,DE01,{MARKER} Weg 2,Berlin,DE\n"
    )
    job = admin.post(
        f"{API}/imports",
        files=[("file", ("rhein.csv", csv.encode(), "text/csv"))],
        data={"template": "custmaster", "entity": "DE01", "validate_only": "true"},
    )
    assert job.status_code == 202, job.text
    # an import for GB01 (the job's entity) whose second row writes a DE01 customer with
    # the marker: it awaits review, out of a GB01 user's sight and decision
    mixed_csv = (
        "source_id,kind,name,email,owning_entity,billing_street,billing_city,billing_country\n"
        "X-1,organization,Import Thames Ltd,ap@importthames.example,GB01,1 Strand,London,GB\n"
        f"X-2,organization,Import Main GmbH,ap@importmain.example,DE01,{MARKER} Ufer 3,Mainz,DE\n"
    )
    mixed = admin.post(
        f"{API}/imports",
        files=[("file", ("mixed.csv", mixed_csv.encode(), "text/csv"))],
        data={"template": "custmaster", "entity": "GB01"},
    )
    assert mixed.status_code == 202, mixed.text
    delivery_id = _a_delivery(admin, container, hook.json()["id"])

    # activity: a DE01 complaint carrying the marker, and a DE01 dead letter carrying it
    def _complaint(who: dict[str, str], case_id: str) -> dict[str, Any]:
        return {
            "specversion": "1.0",
            "id": f"sec-{case_id}",
            "source": "/erp/sec",
            "type": "custmaster.activity.complaint.opened",
            "time": "2026-12-01T08:00:00Z",
            "data": {
                **who,
                "legal_entity": "DE01",
                "case_id": case_id,
                "date": "2026-12-01",
                "severity": "high",
                "subject": f"{MARKER} housing cracked",
            },
        }

    activity = admin.post(
        f"{API}/activities",
        json=[
            _complaint({"customer_id": victim["id"]}, "Q-DE-1"),
            _complaint({"source_system": "d365", "source_id": "NOBODY"}, "Q-DE-2"),
        ],
    )
    assert activity.status_code == 200 and activity.json()["dead_lettered"] == 1, activity.text
    letters = admin.get(f"{API}/activities/dead-letters").json()["items"]
    return World(
        values={
            "webhook_id": [hook.json()["id"]],
            "delivery_id": [delivery_id],
            "target": ["plant_target"],
            "system": ["d365"],
            "letter_id": [letters[0]["id"]],
            "customer_id": [victim["id"], de_only["id"]],
            "contact_id": [victim["contacts"][0]["id"]],
            "merge_id": [merged.json()["merge_id"]],
            "request_id": [proposed.json()["id"]],
            "relationship_id": [related.json()["id"]],
            "link_id": [link.json()["id"]],
            "assignment_id": [in_unit.json()["id"]],
            "hierarchy_type": ["legal"],
            "source_system": ["d365"],
            "source_id": ["DE-0001"],
            "segment_id": [segment.json()["id"]],
            "job_id": [job.json()["id"], mixed.json()["id"]],
        },
        codes={
            f"{API}/legal-entities": "DE01",
            f"{API}/payment-terms": "NET45",
            f"{API}/customer-templates": "Retail",
            f"{API}/profile-rules": "1",  # the shipped rules
        },
    )
