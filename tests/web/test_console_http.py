"""The console through HTTP (no browser), on both databases: the session cookie's flags,
sign-in and sign-out, CSRF refusals, the legal-entity scope (a GB01 user never sees DE01's
overrides), edits through the API's change path with messages beside the fields."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from custmaster.bootstrap import Container
from custmaster.services.auth import revoke_key
from custmaster.services.dedup.batch import run_batch
from tests.conftest import new_user
from tests.factories import create, identity_provider, minimal

_TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')
_LOGIN_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in(app: FastAPI, key: str, base_url: str = "http://testserver") -> tuple[TestClient, str]:
    client = TestClient(
        app, base_url=base_url, follow_redirects=False, raise_server_exceptions=False
    )
    form = client.get("/console/login")
    token = _LOGIN_TOKEN.search(form.text)
    assert token
    response = client.post("/console/login", data={"credential": key, "csrf_token": token[1]})
    assert response.status_code == 303, response.text
    csrf = _TOKEN.search(client.get("/console").text)
    assert csrf
    return client, csrf[1]


@pytest.fixture
def global_co(client: TestClient) -> dict[str, Any]:
    """Owned by GB01, with overrides for DE01 (credit 70000, NET60) and GB01."""
    return create(
        client,
        minimal(
            "Global Widgets",
            "ap@globalwidgets.example",
            owning_entity="GB01",
            overrides={
                "DE01": {"credit_limit": "70000", "payment_terms": "NET60"},
                "GB01": {"credit_limit": "5000", "payment_terms": "NET30"},
            },
        ),
    )


def test_session_cookie_flags(app: FastAPI, client: TestClient, container: Container) -> None:
    key = new_user(container, "cookie-user", ["viewer"])
    plain, _ = sign_in(app, key)
    cookie = plain.cookies.jar
    found = next(c for c in cookie if c.name == "cm_console")
    assert found.path == "/console" and not found.secure
    assert found.has_nonstandard_attr("HttpOnly")
    form = plain.get("/console/login")
    response = plain.post(
        "/console/login", data={"credential": key, "csrf_token": _LOGIN_TOKEN.search(form.text)[1]}
    )  # type: ignore[index]
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=strict" in header and "secure" not in header
    tls = TestClient(app, base_url="https://testserver", follow_redirects=False)
    form = tls.get("/console/login")
    response = tls.post(
        "/console/login", data={"credential": key, "csrf_token": _LOGIN_TOKEN.search(form.text)[1]}
    )  # type: ignore[index]
    header = response.headers["set-cookie"].lower()
    assert "secure" in header and "httponly" in header and "samesite=strict" in header


def test_sign_in_refusals_and_sign_out(
    app: FastAPI, client: TestClient, container: Container
) -> None:
    key = new_user(container, "signer", ["viewer"])
    anonymous = TestClient(app, follow_redirects=False)
    form = anonymous.get("/console/login")
    token = _LOGIN_TOKEN.search(form.text)[1]  # type: ignore[index]
    # the sign-in form's own CSRF token (double submit): without it, refused
    assert anonymous.post("/console/login", data={"credential": key}).status_code == 403
    wrong = anonymous.post("/console/login", data={"credential": "cm_x_y", "csrf_token": token})
    assert wrong.status_code == 401 and "refused" in wrong.text
    # no open redirect after sign-in
    form = anonymous.get("/console/login")
    token = _LOGIN_TOKEN.search(form.text)[1]  # type: ignore[index]
    away = anonymous.post(
        "/console/login",
        data={"credential": key, "csrf_token": token, "next": "https://evil.example/console"},
    )
    assert away.status_code == 303 and away.headers["location"] == "/console"
    session, csrf = sign_in(app, key)
    stolen = session.cookies["cm_console"]
    assert session.post("/console/logout", headers={"X-CSRF-Token": csrf}).status_code == 303
    replay = TestClient(app, follow_redirects=False)
    replay.cookies.set("cm_console", stolen, path="/console")
    assert replay.get("/console").status_code == 303  # ended on the server, not only here


def test_a_revoked_key_ends_its_sessions(
    app: FastAPI, client: TestClient, container: Container
) -> None:
    key = new_user(container, "revoked", ["viewer"])
    session, _ = sign_in(app, key)
    assert session.get("/console").status_code == 200
    prefix = key.removeprefix("cm_").split("_")[0]
    revoke_key(container.uow(), container.system_principal(), prefix)
    assert session.get("/console").status_code == 303


def test_a_gb01_user_never_sees_de01_overrides(
    app: FastAPI, client: TestClient, container: Container, global_co: dict[str, Any]
) -> None:
    key = new_user(container, "gb-steward", ["data_steward"], ["GB01"])
    session, csrf = sign_in(app, key)
    page = session.get(f"/console/customers/{global_co['id']}")
    assert page.status_code == 200
    assert "Entity GB01" in page.text and "Entity DE01" not in page.text
    assert "70000" not in page.text and "NET60" not in page.text
    gb = session.get(f"/console/customers/{global_co['id']}?entity=GB01")
    assert "5000" in gb.text and "overridden" in gb.text
    assert session.get(f"/console/customers/{global_co['id']}?entity=DE01").status_code == 403
    for path in ("history", "structure", "edit"):
        shown = session.get(f"/console/customers/{global_co['id']}/{path}")
        assert shown.status_code == 200, (path, shown.text[:300])
        assert "70000" not in shown.text and "NET60" not in shown.text, path
    assert session.get(f"/console/customers/{global_co['id']}/edit?entity=DE01").status_code == 200
    refused = session.post(
        f"/console/customers/{global_co['id']}/edit?entity=DE01",
        data={"csrf_token": csrf, "credit_limit": "1"},
    )
    assert refused.status_code in (403, 422), refused.text[:300]
    admin = client.get(f"/api/v1/customers/{global_co['id']}").json()
    assert admin["overrides"]["DE01"]["credit_limit"] == "70000"  # unchanged
    search = session.get("/console/customers?q=Global+Widgets&entity=DE01")
    assert search.status_code == 403


def test_an_edit_takes_the_apis_path(
    app: FastAPI, client: TestClient, container: Container, global_co: dict[str, Any]
) -> None:
    key = new_user(container, "editor", ["data_steward"])
    session, csrf = sign_in(app, key)
    url = f"/console/customers/{global_co['id']}/edit"
    forged = session.post(url, data={"phone": "+44 20 7946 0000"})  # no CSRF token
    assert forged.status_code == 403
    invalid = session.post(url, data={"csrf_token": csrf, "email": "not an e-mail"})
    assert invalid.status_code == 422
    assert 'data-testid="error-email"' in invalid.text  # the message beside the field
    done = session.post(url, data={"csrf_token": csrf, "phone": "+44 20 7946 0000"})
    assert done.status_code == 303 and "flash=applied" in done.headers["location"]
    record = client.get(f"/api/v1/customers/{global_co['id']}").json()
    assert record["phone"] == "+442079460000"
    history = client.get(f"/api/v1/customers/{global_co['id']}/history").json()["items"]
    assert history[-1]["actor_id"] == "editor"  # audited as the signed-in user


def test_the_dashboard_shows_only_the_users_entities(
    app: FastAPI, client: TestClient, container: Container, global_co: dict[str, Any]
) -> None:
    create(client, minimal("Us Only Inc", "ap@usonly.example", owning_entity="US01"))
    everyone, _ = sign_in(app, new_user(container, "dq-all", ["viewer"]))
    page = everyone.get("/console/quality")
    assert page.status_code == 200
    assert ">US01<" in page.text and ">GB01<" in page.text
    scoped, _ = sign_in(app, new_user(container, "dq-gb", ["viewer"], ["GB01"]))
    page = scoped.get("/console/quality")
    assert ">GB01<" in page.text and ">US01<" not in page.text


def test_merge_preview_merge_and_unmerge_through_the_console(
    app: FastAPI, client: TestClient, container: Container
) -> None:
    for name, email in (
        ("Initech Corporation", "ap@initech.example"),
        ("INITECH Corp", "ap@initech.example"),
    ):
        create(client, minimal(name, email, phone="+1 512 555 0110", tax_id="941234567"))
    run_batch(container.uow, container.system_principal(), container.service_settings)
    session, csrf = sign_in(app, new_user(container, "merger", ["data_steward"]))
    queue = session.get("/console/duplicates")
    cluster = re.search(r'href="/console/duplicates/(\d+)"', queue.text)
    assert cluster, queue.text
    page = session.get(f"/console/duplicates/{cluster[1]}")
    survivor = re.search(r'name="survivor_id" value="([0-9a-f-]{36})"', page.text)
    assert survivor and 'class="differs"' in page.text
    data = {"csrf_token": csrf, "survivor_id": survivor[1]}
    preview = session.post(f"/console/duplicates/{cluster[1]}/preview", data=data)
    assert preview.status_code == 200 and 'data-testid="preview"' in preview.text
    merged = session.post(
        f"/console/duplicates/{cluster[1]}/decision", data={**data, "decision": "merge"}
    )
    assert merged.status_code == 303, merged.text[:300]
    merge_page = merged.headers["location"]
    assert merge_page.startswith("/console/merges/")
    assert "merged" in session.get(merge_page).text
    undone = session.post(f"{merge_page}/unmerge", data={"csrf_token": csrf})
    assert undone.status_code == 303 and "flash=unmerged" in undone.headers["location"]
    record = client.get(f"/api/v1/merges/{merge_page.rsplit('/', 1)[1]}").json()
    assert record["unmerged_by"] == "merger"


def test_sign_in_with_the_identity_providers_token(
    app: FastAPI, client: TestClient, container: Container, tmp_path: Path
) -> None:
    """An OIDC access token signs in too; the session ends with the token."""
    private, verifier = identity_provider(tmp_path)
    container.token_verifier = verifier
    try:
        expires = datetime.now(UTC) + timedelta(minutes=10)
        token = jwt.encode(
            {
                "sub": "oidc-ann",
                "name": "Ann from the IdP",
                "groups": ["mdm-readers"],
                "entities": ["GB01"],
                "aud": "custmaster",
                "iss": "https://idp.example",
                "exp": expires,
            },
            private,
            algorithm="RS256",
        )
        session, _ = sign_in(app, token)
        home = session.get("/console")
        assert "Ann from the IdP" in home.text and "viewer" in home.text and "GB01" in home.text
        cookie = next(c for c in session.cookies.jar if c.name == "cm_console")
        assert cookie.expires is not None and cookie.expires <= expires.timestamp() + 5
        forged = jwt.encode(
            {"sub": "x", "aud": "custmaster", "iss": "https://idp.example", "exp": expires},
            "not-the-key-but-a-key-of-32-bytes",  # HS256's shortest recommended key
            algorithm="HS256",
        )
        anonymous = TestClient(app, follow_redirects=False)
        form = anonymous.get("/console/login")
        token_field = _LOGIN_TOKEN.search(form.text)
        assert token_field
        refused = anonymous.post(
            "/console/login", data={"credential": forged, "csrf_token": token_field[1]}
        )
        assert refused.status_code == 401
    finally:
        container.token_verifier = None


def test_an_import_uploaded_and_approved_by_a_second_person(
    app: FastAPI,
    client: TestClient,
    container: Container,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CUSTMASTER_IMPORT_DIR", str(tmp_path / "imports"))
    rows = (
        "source_id,name,email,owning_entity\n"
        "N-1,Northwind Traders,orders@northwind.example,US01\n"
        "N-2,Half A Record,,US01\n"
        "N-3,Broken Mail,not-an-email,US01\n"
    )
    submitter, csrf = sign_in(app, new_user(container, "importer", ["data_steward"]))
    upload = submitter.post(
        "/console/imports",
        data={"csrf_token": csrf, "template": "custmaster", "mode": "run", "keep_drafts": "true"},
        files={"file": ("customers.csv", rows.encode(), "text/csv")},
    )
    assert upload.status_code == 303, upload.text[:500]
    job_url = upload.headers["location"]
    page = submitter.get(job_url)
    assert "awaiting review" in page.text, page.text[:2000]
    assert "draft: 2" in page.text  # the plan, before the approval
    assert "Approve import" not in page.text  # never by its submitter
    report = submitter.get(f"{job_url}/errors.csv")
    assert report.status_code == 200 and "N-3" in report.text and "incomplete" in report.text
    assert report.headers["content-type"].startswith("text/csv")
    approver, approver_csrf = sign_in(app, new_user(container, "approver", ["ar_manager"]))
    approved = approver.post(f"{job_url}/approve", data={"csrf_token": approver_csrf})
    assert approved.status_code == 303
    assert "done" in approver.get(f"{job_url}/progress").text
    done = approver.get(job_url).text
    assert 'data-testid="drafts"' in done and "Half A Record" in done and "Broken Mail" in done
    found = client.get("/api/v1/customers?q=Northwind").json()["items"]
    assert [c["name"] for c in found] == ["Northwind Traders"]
