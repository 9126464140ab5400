"""Load the demo data set through the ordinary use cases (validated, audited, evented)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

from custmaster.domain.permissions import Principal
from custmaster.services.auth import add_user
from custmaster.services.customers.create import apply_create
from custmaster.services.demo_showcase import SHOWCASE_SIZE, load_showcase
from custmaster.services.ports import CustomerQuery, UnitOfWork
from custmaster.services.profile.config import ProfileConfig
from custmaster.services.profile.demo_activity import DemoCustomer, generate_activity, load_events
from custmaster.services.profile.features import today
from custmaster.services.reference import create_reference
from custmaster.services.sample_data import generate_customers, reference_data
from custmaster.services.settings import ServiceSettings

BATCH = 200
#: the demo's automotive suppliers (NAICS 336390, motor vehicle parts) are its strategic
#: accounts (account tier platinum); their activity tells a story (``DemoCustomer.story``)
AUTOMOTIVE = "336390"

#: one user per role, and a second one where segregation of duties needs two people
DEMO_USERS: tuple[tuple[str, str], ...] = (
    ("admin", "admin"),
    ("viewer", "viewer"),
    ("sales_rep", "sales_rep"),
    ("data_steward", "data_steward"),
    ("data_steward_2", "data_steward"),
    ("ar_manager", "ar_manager"),
    ("ar_manager_2", "ar_manager"),
    ("controller", "controller"),
    ("controller_2", "controller"),
    ("cfo", "cfo"),
    ("integration", "integration"),
)


def create_demo_users(uow: UnitOfWork, actor: Principal) -> list[tuple[str, str, str]]:
    """(user, role, API key) for each demo user that does not exist yet."""
    created: list[tuple[str, str, str]] = []
    with uow:
        for user_id, role in DEMO_USERS:
            if uow.users.get(user_id) is None:
                created.append((user_id, role, add_user(uow, actor, user_id, roles=[role])))
    return created


def has_customers(uow: UnitOfWork) -> bool:
    with uow.read_only():
        return bool(uow.customers.search(CustomerQuery(status=None, limit=1)))


def _story(body: dict[str, Any]) -> dict[str, Any]:
    """An automotive organisation of the generated set is a strategic (platinum) account."""
    if body.get("industry") == AUTOMOTIVE and body.get("kind") != "person":
        body["account_tier"] = "platinum"
    return body


def load_demo(
    new_uow: Callable[[], UnitOfWork],
    actor: Principal,
    settings: ServiceSettings,
    *,
    customers: int = 2000,
    seed: int = 42,
    progress: Callable[[int], None] = lambda done: None,
) -> int:
    """Create the reference data and ``customers`` generated customers; returns how many
    customers were created. Customers are committed in batches of ``BATCH``."""
    reference = reference_data()
    uow = new_uow()
    with uow:
        for kind in (f.name for f in fields(reference)):
            for record in getattr(reference, kind):
                if uow.reference.get(kind, record["code"]) is None:
                    create_reference(uow, actor, kind, record)
    created = len(load_showcase(new_uow, actor, settings)) if customers >= SHOWCASE_SIZE else 0
    generated = iter(generate_customers(customers - created, seed=seed, profile="demo"))
    while created < customers:
        batch = new_uow()
        with batch:
            for body in generated:
                apply_create(batch, actor, _story(dict(body)), settings)
                created += 1
                if created % BATCH == 0:
                    break
        progress(created)
        if created % BATCH:
            break
    return created


def demo_customers(uow: UnitOfWork) -> list[DemoCustomer]:
    """Every customer with an owning entity, with that entity's currency."""
    found: list[DemoCustomer] = []
    after: str | None = None
    with uow.read_only():
        currencies = uow.activity.entity_currencies()
        while True:
            page = uow.customers.search(CustomerQuery(status=None, after_number=after, limit=500))
            found.extend(
                DemoCustomer(
                    c.id,
                    c.owning_entity,
                    currencies.get(c.owning_entity, "EUR"),
                    story=c.industry == AUTOMOTIVE and c.account_tier == "platinum",
                )
                for c in page
                if c.owning_entity
            )
            if len(page) < 500:
                return found
            after = page[-1].number


def load_demo_activity(
    new_uow: Callable[[], UnitOfWork], config: ProfileConfig, *, seed: int = 42
) -> int:
    """24 months of activity for every demo customer; how many events."""
    customers = demo_customers(new_uow())
    return load_events(new_uow, generate_activity(customers, today(), seed), config)
