"""The steward console walked as its users walk it, in Debian's Chromium: sign in, search,
open a customer, propose a change and approve it from another user's inbox, review and
merge a duplicate and unmerge it, upload an import and approve it, add, change and remove
contacts and addresses. Every page is checked
with axe-core (no serious or critical violation) and photographed for docs/console/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.browser import check_page, sign_in, sign_out
from tests.web.conftest import SCREENSHOTS, Served

TIMEOUT_MS = 15_000


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def test_sign_in_shows_who_i_am_and_sign_out_ends_it(page: Any, served: Served) -> None:
    page.goto(f"{served.url}/console/customers")
    assert "/console/login" in page.url
    check_page(page, "sign-in")
    page.get_by_label("API key").fill("cm_not-a-key")
    page.get_by_role("button", name="Sign in").click()
    assert "refused" in page.locator("#login-error").inner_text()
    sign_in(page, served, "gb_steward")
    assert page.get_by_test_id("user-roles").inner_text() == "data_steward"
    assert page.get_by_test_id("user-entities").inner_text() == "GB01"
    check_page(page, "home")
    sign_out(page)
    page.goto(f"{served.url}/console/inbox")
    assert "/console/login" in page.url  # the session ended on the server


def test_search_open_a_customer_with_entity_tabs(page: Any, served: Served) -> None:
    sign_in(page, served, "steward")
    page.keyboard.press("/")  # the keyboard shortcut focuses the search box
    page.keyboard.type("Global Widgets")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/console/customers\?q=Global.*"))
    results = page.get_by_test_id("results")
    assert "Global Widgets" in results.inner_text()
    check_page(page, "search")
    results.get_by_role("link").first.click()
    page.wait_for_url(re.compile(r".*/console/customers/[0-9a-f-]{36}$"))
    assert "ap@globalwidgets.example" in page.get_by_test_id("master-fields").inner_text()
    check_page(page, "customer")
    profile = page.get_by_test_id("profile-panel")  # the living profile, checked with the page
    assert "CASE-GB" in profile.inner_text()
    profile.screenshot(path=str(SCREENSHOTS / "customer-profile.png"))
    page.get_by_role("link", name="Entity DE01").click()
    credit = page.locator('dd[data-field="credit_limit"]')
    assert "70000" in credit.inner_text() and "overridden" in credit.inner_text()
    check_page(page, "customer-entity")
    page.get_by_role("link", name="Structure").click()
    page.wait_for_url("**/structure")
    check_page(page, "customer-structure")
    page.get_by_role("link", name="History").click()
    page.wait_for_url("**/history")
    assert "create" in page.get_by_test_id("timeline").inner_text()
    check_page(page, "customer-history")


def test_fuzzy_search_finds_a_misspelt_name(page: Any, served: Served) -> None:
    sign_in(page, served, "viewer")
    page.goto(f"{served.url}/console/customers?q=Global+Widgetts")
    assert "Global Widgets" in page.get_by_test_id("similar").inner_text()


def test_a_proposed_change_is_approved_from_another_users_inbox(page: Any, served: Served) -> None:
    customer = served.world.global_id
    sign_in(page, served, "rep")  # a sales rep proposes; a data steward decides
    page.goto(f"{served.url}/console/customers/{customer}")
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("email", exact=True).fill("not an e-mail")
    page.get_by_role("button", name="Save change").click()
    assert page.get_by_test_id("error-email").is_visible()  # the message beside the field
    check_page(page, "customer-edit-errors")
    page.get_by_label("email", exact=True).fill("ap@globalwidgets.example")
    page.get_by_label("phone").fill("+44 20 7946 0018")
    page.get_by_role("button", name="Save change").click()
    page.wait_for_url(re.compile(r".*/console/change-requests/.*flash=submitted"))
    assert page.get_by_test_id("cr-status").inner_text() == "pending"
    check_page(page, "change-request-submitted")
    request_url = page.url.split("?")[0]
    sign_out(page)

    sign_in(page, served, "steward")
    page.get_by_role("link", name="Inbox").click()
    waiting = page.get_by_test_id("waiting")
    assert "phone" in waiting.inner_text()
    check_page(page, "inbox")
    waiting.get_by_role("link").first.click()
    assert page.url.split("?")[0] == request_url
    assert "+442079460018" in page.get_by_test_id("diff").inner_text()
    check_page(page, "change-request")
    page.get_by_label("Comment (optional)").fill("checked with the customer")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(re.compile(r".*flash=approved"))
    assert page.get_by_test_id("cr-status").inner_text() == "applied"
    page.goto(f"{served.url}/console/customers/{customer}")
    assert "+442079460018" in page.locator('dd[data-field="phone"]').inner_text()


def test_review_merge_and_unmerge_a_duplicate(page: Any, served: Served) -> None:
    sign_in(page, served, "steward")
    page.get_by_role("link", name="Duplicates").click()
    check_page(page, "duplicates")
    page.get_by_test_id("clusters").get_by_role("link").first.click()
    # count() does not wait: the cluster's page first (else it may count the list's rows)
    page.wait_for_url(re.compile(r".*/console/duplicates/[^/?]+$"))
    table = page.get_by_test_id("side-by-side")
    table.locator("tr.differs").first.wait_for()
    assert table.locator("tr.differs").count() > 0  # differing attributes highlighted
    check_page(page, "duplicate-cluster")
    page.get_by_role("radio", name="survives").first.check()
    page.get_by_role("button", name="Preview merge").click()
    preview = page.get_by_test_id("preview")
    assert "Acme" in preview.inner_text()
    check_page(page, "merge-preview")
    page.get_by_role("button", name="Merge", exact=True).click()
    page.wait_for_url(re.compile(r".*/console/merges/[0-9a-f-]{36}$"))
    assert page.get_by_test_id("merge-status").inner_text() == "merged"
    check_page(page, "merge")
    page.get_by_role("button", name="Unmerge").click()
    page.wait_for_url(re.compile(r".*flash=unmerged"))
    assert page.get_by_test_id("merge-status").inner_text() == "unmerged"
    check_page(page, "unmerged")


IMPORT_CSV = (
    "source_id,name,email,phone,owning_entity\n"
    "IMP-1,Northwind Traders,orders@northwind.example,+1 206 555 0101,US01\n"
    "IMP-2,Contoso Pharmaceuticals,ap@contoso.example,+1 425 555 0102,US01\n"
    "IMP-3,Broken Row,not-an-email,,US01\n"
)


def test_upload_an_import_and_approve_it_as_a_second_person(
    page: Any, served: Served, tmp_path: Path
) -> None:
    upload = tmp_path / "customers.csv"
    upload.write_text(IMPORT_CSV)
    sign_in(page, served, "steward")
    page.get_by_role("link", name="Imports").click()
    check_page(page, "imports")
    page.get_by_label("File").set_input_files(str(upload))
    page.get_by_label("Template").select_option("custmaster")
    page.get_by_label("Validate, then import after review").check()
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r".*/console/imports/[0-9a-f-]{36}$"))
    # the progress bar polls (htmx) until validation ends, then the page reloads
    page.get_by_test_id("job-status").filter(has_text="awaiting review").wait_for()
    page.get_by_test_id("row-errors").wait_for()
    assert "email" in page.get_by_test_id("row-errors").inner_text()
    check_page(page, "import-job")
    job_url = page.url
    sign_out(page)

    sign_in(page, served, "arm")
    page.goto(job_url)
    page.get_by_role("button", name="Approve import").click()
    page.get_by_test_id("job-status").filter(has_text="done").wait_for()
    check_page(page, "import-approved")
    page.goto(f"{served.url}/console/customers?q=Northwind")
    assert "Northwind Traders" in page.get_by_test_id("results").inner_text()


def test_data_quality_dashboard(page: Any, served: Served) -> None:
    sign_in(page, served, "admin")
    page.get_by_role("link", name="Data quality").click()
    table = page.get_by_test_id("completeness")
    assert "GB01" in table.inner_text()
    assert page.locator("svg.chart").count() >= 2
    check_page(page, "quality")
    table.get_by_role("link", name=re.compile(r"^\d+$")).first.click()
    page.wait_for_url(re.compile(r".*/console/customers\?entity=.*"))
    assert page.get_by_test_id("results").locator("tbody tr").count() >= 1


def test_usable_on_a_tablet(page: Any, served: Served) -> None:
    """At tablet width nothing needs sideways scrolling of the page itself (wide tables
    scroll inside their own box), and the checks still pass."""
    page.set_viewport_size({"width": 768, "height": 1024})
    sign_in(page, served, "steward")
    page.goto(f"{served.url}/console/customers/{served.world.global_id}")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    check_page(page, "customer-tablet")
    page.goto(f"{served.url}/console/quality")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_add_change_and_remove_contacts_and_addresses(page: Any, served: Served) -> None:
    """A steward adds a contact (low-risk: applied at once), sees a message beside a wrong
    field, changes the contact and removes it; a new address waits for approval."""
    customer = served.world.global_id
    sign_in(page, served, "steward")
    page.goto(f"{served.url}/console/customers/{customer}")
    page.get_by_role("link", name="Add a contact").click()
    page.get_by_label("First name").fill("Grace")
    page.get_by_label("Last name").fill("Hopper")
    page.get_by_label("E-mail").fill("grace at widgets")
    page.get_by_role("button", name="Add contact").click()
    error = page.get_by_test_id("error-email")
    assert error.is_visible()  # the message beside the field, tied to it for readers
    assert page.get_by_label("E-mail").get_attribute("aria-describedby") == "e-email"
    check_page(page, "contact-form-errors")
    page.get_by_label("E-mail").fill("grace@globalwidgets.example")
    page.get_by_role("button", name="Add contact").click()
    page.wait_for_url(re.compile(r".*flash=applied.*"))
    contacts = page.get_by_test_id("contacts")
    assert "grace@globalwidgets.example" in contacts.inner_text()
    page.get_by_role("link", name="Add a contact").click()
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("Job title").fill("Controller")
    page.get_by_role("button", name="Add contact").click()
    page.wait_for_url(re.compile(r".*flash=applied.*"))
    check_page(page, "customer-contacts")

    page.get_by_role("link", name="Change contact Grace Hopper").click()
    page.get_by_label("Job title").fill("Head of Purchasing")
    page.get_by_role("button", name="Save contact").click()
    page.wait_for_url(re.compile(r".*flash=applied.*"))
    assert "Head of Purchasing" in page.get_by_test_id("contacts").inner_text()

    page.get_by_role("link", name="Remove contact Lovelace").click()
    assert "Lovelace" in page.get_by_test_id("remove-record").inner_text()
    check_page(page, "contact-remove")
    page.get_by_role("button", name="Remove contact").click()
    page.wait_for_url(re.compile(r".*flash=applied.*"))
    remaining = page.get_by_test_id("contacts").inner_text()
    assert "Lovelace" not in remaining and "Grace" in remaining

    page.get_by_role("link", name="Add an address").click()
    page.get_by_label("Type").select_option("shipping")
    page.get_by_label("Street lines (one per line)").fill("Unit 4\nDock Road")
    page.get_by_label("City").fill("Leeds")
    page.get_by_label("Country (ISO 3166-1, e.g. DE)").fill("GB")
    check_page(page, "address-form")
    page.get_by_role("button", name="Add address").click()
    # addresses are not low-risk under the console's policy: a change request
    page.wait_for_url(re.compile(r".*/console/change-requests/.*flash=submitted"))
    assert page.get_by_test_id("cr-status").inner_text() == "pending"
    assert "Dock Road" in page.get_by_test_id("diff").inner_text()
