"""Each shipped template imports its sample from ../shared/samples (truth.csv checks)."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

from custmaster.services.imports import count_rows, inspect_sources, read_records
from custmaster.services.imports.records import ImportRecord

SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "samples"
if not SAMPLES.is_dir():  # the samples live beside the project checkout
    SAMPLES = Path("/work/shared/samples")

pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="import samples not available")


def _truth(file: str) -> dict[str, str]:
    with (SAMPLES / "truth.csv").open(encoding="utf-8") as handle:
        return {r["source_id"]: r["entity"] for r in csv.DictReader(handle) if r["file"] == file}


def _read(files: object, template: str, entity: str | None = None) -> list[ImportRecord]:
    with read_records(files, template, entity=entity) as records:  # type: ignore[arg-type]
        return list(records)


def test_legacy_erp() -> None:
    path = SAMPLES / "legacy_erp_kunden.csv"
    (check,) = inspect_sources(path, "legacy_erp")
    assert (check.info.encoding, check.info.delimiter) == ("cp1252", ";")
    assert check.missing_columns == ()
    records = _read(path, "legacy_erp", entity="DE01")
    assert len(records) == count_rows(path, "legacy_erp") == 23
    assert {r.source_id for r in records} == set(_truth("legacy_erp_kunden.csv"))
    assert all(r.ok for r in records)
    by_id = {r.source_id: r.command for r in records}
    harbor = by_id["25290"]
    assert harbor["credit_limit"] == "100000.00"
    assert harbor["payment_terms"] == "NET60"
    assert harbor["metadata"] == {"legacy_created_on": "2019-02-01"}
    assert harbor["owning_entity"] == "DE01"
    assert by_id["82660"]["credit_limit"] == "0.00"
    assert by_id["40564"]["credit_limit"] == "1500000.00"
    assert by_id["40564"]["addresses"][0]["lines"] == ["Römerallee 419"]  # Latin-1 decoded
    assert by_id["79770"]["name"] == "Crescent Präzisionsteile AG"
    assert "currency" not in harbor  # the file has none; nothing is invented


def test_hubspot_rows_lack_email_and_are_incomplete_drafts() -> None:
    path = SAMPLES / "hubspot_companies.csv"
    records = _read(path, "hubspot")
    assert len(records) == 27
    assert {r.source_id for r in records} == set(_truth("hubspot_companies.csv"))
    assert all(r.is_incomplete and r.missing_required == ["email"] for r in records)
    assert all("email" not in r.command for r in records)
    first = records[0].command
    assert first["name"] == "Evergreen Hydraulics N.V."
    assert first["addresses"][0]["country"] == "NL"
    assert first["relationship_status"] == "prospect"
    silverline = next(r.command for r in records if r.source_id == "9616905748")
    assert silverline["addresses"][0]["region"] == "US-FL"
    assert silverline["addresses"][0]["country"] == "US"
    packaging = next(r.command for r in records if r.source_id == "8482736089")
    assert packaging["addresses"][0]["lines"] == ["2, rue de Poulain"]  # quoted comma


def test_d365_rows_of_one_customer_become_one_master_with_overrides() -> None:
    path = SAMPLES / "d365_customers_v3.csv"
    truth = _truth("d365_customers_v3.csv")
    records = _read(path, "d365")
    assert count_rows(path, "d365") == 37
    assert len(records) == len(set(truth.values())) == 30
    for record in records:  # every group is exactly one truth entity, and all of it
        (entity,) = {truth[ref.source_id] for ref in record.source_refs}
        expected = sorted(k for k, v in truth.items() if v == entity)
        assert sorted(ref.source_id for ref in record.source_refs) == expected
        assert record.ok, (record.source_id, record.errors)
    evergreen = next(r for r in records if r.source_id == "demf/DE-0001")
    command = evergreen.command
    assert evergreen.row_numbers == [1, 2]
    assert command["owning_entity"] == "DE01"
    assert command["currency"] == "EUR"
    assert command["email"] == "ap@evergreenhydraulics.nl"
    assert command["addresses"][0]["country"] == "NL"
    assert command["overrides"]["US01"] == {
        "credit_limit": "0",
        "payment_terms": "NET45",
        "payment_method": "SEPA",
        "currency": "USD",
        "customer_group": "30",
    }
    assert command["overrides"]["DE01"]["customer_group"] == "20"
    assert command["source_refs"] == [
        {"source_system": "d365", "source_id": "demf/DE-0001"},
        {"source_system": "d365", "source_id": "usmf/US-0002"},
    ]
    # the tax id only one entity row carries is taken for the master
    harbor = next(r.command for r in records if r.source_id == "demf/DE-0004")
    assert harbor["tax_id"] == "NL472073788B01"
    assert harbor["overrides"]["US01"]["credit_limit"] == "80000"


def test_d365_owning_entity_follows_the_job_entity() -> None:
    records = _read(SAMPLES / "d365_customers_v3.csv", "d365", entity="US01")
    titan = next(r for r in records if "demf/DE-0018" in {x.source_id for x in r.source_refs})
    assert titan.source_id == "usmf/US-0019"
    assert titan.command["owning_entity"] == "US01"
    assert titan.command["credit_limit"] == "200000"
    assert titan.command["currency"] == "USD"
    assert titan.command["overrides"]["DE01"]["credit_limit"] == "250000"


def test_salesforce_accounts_join_their_contacts() -> None:
    accounts, contacts = SAMPLES / "salesforce_accounts.csv", SAMPLES / "salesforce_contacts.csv"
    truth = _truth("salesforce_accounts.csv")
    records = _read([accounts, contacts], "salesforce")
    assert len(records) == 41
    assert {r.source_id for r in records} == set(truth)
    contact_account: dict[str, str] = {}
    with contacts.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            contact_account[row["Email"]] = row["AccountId"]
    joined = defaultdict(list)
    for record in records:
        for contact in record.command.get("contacts", []):
            joined[record.source_id].append(contact["email"])
            assert contact_account[contact["email"]] == record.source_id
    assert sum(len(v) for v in joined.values()) == 40
    evergreen = next(r for r in records if r.source_id == "0015cGPtoz5Yxx6w7r")
    assert evergreen.ok
    assert evergreen.command["email"] == "nathan.kamp@evergreenhydraulics.nl"
    assert "email_from_contact" in {w.code for w in evergreen.warnings}
    assert evergreen.command["contacts"][0]["is_primary"] is True
    assert evergreen.command["website"] == "https://www.evergreenhydraulics.nl"
    assert evergreen.related_rows == {"contacts": [1]}
    assert evergreen.command["metadata"]["employees"] == 686
    stonefield = next(r for r in records if r.source_id == "001RjveCSKvX438z9I")
    assert stonefield.command["name"] == "Stonefield Fasteners, LLC"
    assert stonefield.command["addresses"][0]["region"] == "US-NE"
    # the account without a contact has no e-mail: an incomplete draft, nothing invented
    lonely = next(r for r in records if r.source_id == "001mvQkqhPCCzCc5vm")
    assert lonely.missing_required == ["email"]
    assert "contacts" not in lonely.command


def test_salesforce_accounts_alone() -> None:
    records = _read(SAMPLES / "salesforce_accounts.csv", "salesforce")
    assert len(records) == 41
    assert all(r.missing_required == ["email"] for r in records)


def test_salesforce_files_by_role() -> None:
    files = {
        "contacts": SAMPLES / "salesforce_contacts.csv",
        "accounts": SAMPLES / "salesforce_accounts.csv",
    }
    records = _read(files, "salesforce")
    assert sum(1 for r in records if r.ok) == 40
