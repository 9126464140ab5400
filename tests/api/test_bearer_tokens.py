"""OIDC/JWT bearer tokens through HTTP: algorithms pinned to the key type, claims of the
wrong shape refused with 401 (never 500), empty entity lists fail closed, aud/iss/exp
required, a JWKS of several key types selects by kid; API keys keep working."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient

from custmaster.bootstrap import Container
from custmaster.services.bearer_tokens import TokenVerifier

API = "/api/v1"
AUD, ISS = "custmaster", "https://idp.example"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
Call = Callable[..., Any]


def _pem(private: Any) -> bytes:
    public: bytes = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return public


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "sub": "u-42",
        "name": "Ola",
        "roles": ["viewer"],
        "aud": AUD,
        "iss": ISS,
        "exp": datetime.now(UTC) + timedelta(minutes=5),
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with_public_key(payload: dict[str, Any]) -> str:
    """The classic confusion attack: HS256 keyed with the server's public key (PyJWT
    refuses to make one, so it is made by hand)."""
    body = {**payload, "exp": int(payload["exp"].timestamp())}
    signing = f"{_b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{_b64(json.dumps(body).encode())}"
    mac = hmac.new(_pem(RSA_KEY), signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{_b64(mac)}"


def unsigned(payload: dict[str, Any]) -> str:
    body = {**payload, "exp": int(payload["exp"].timestamp())}
    return f"{_b64(json.dumps({'alg': 'none'}).encode())}.{_b64(json.dumps(body).encode())}."


@pytest.fixture
def pem_verifier(container: Container, tmp_path: Path) -> Iterator[None]:
    """JWT on, verified with an RSA public key file (PEM)."""
    (tmp_path / "idp.pem").write_bytes(_pem(RSA_KEY))
    verifier = TokenVerifier.from_files(
        public_key_file=tmp_path / "idp.pem",
        jwks_file=None,
        algorithms=[],
        audience=AUD,
        issuer=ISS,
        roles_claim="roles",
        entities_claim="entities",
        role_map={},
    )
    saved, container.token_verifier = container.token_verifier, verifier
    yield
    container.token_verifier = saved


@pytest.fixture
def call(client: TestClient) -> Call:
    """``call(token, path)``: GET path with the token as bearer."""

    def get(token: str, path: str = f"{API}/customers") -> Any:
        return TestClient(client.app, raise_server_exceptions=False).get(
            path, headers={"Authorization": f"Bearer {token}"}
        )

    return get


def _refused(response: Any, words: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert words in response.json()["detail"], response.json()


@pytest.mark.usefixtures("pem_verifier")
def test_a_token_of_another_algorithm_or_key_type_answers_401(call: Call) -> None:
    assert call(jwt.encode(claims(), RSA_KEY, algorithm="RS256")).status_code == 200
    assert call(jwt.encode(claims(), RSA_KEY, algorithm="PS384")).status_code == 200
    _refused(call(jwt.encode(claims(), EC_KEY, algorithm="ES256")), "alg 'ES256'")
    _refused(call(hs256_with_public_key(claims())), "alg 'HS256'")
    _refused(call(unsigned(claims())), "alg 'none'")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _refused(call(jwt.encode(claims(), other, algorithm="RS256")), "signature")
    _refused(call("not.a.token"), "invalid bearer token")


@pytest.mark.usefixtures("pem_verifier")
@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"roles": "viewer"}, "roles claim must be a list of strings, not a string"),
        ({"roles": [1]}, "roles claim must be a list of non-empty strings"),
        ({"roles": {"viewer": True}}, "roles claim must be a list"),
        ({"roles": None}, "roles claim must be a list"),
        ({"roles": ["viewer", "superuser"]}, "unknown roles: superuser"),
        ({"roles": []}, "grants no custmaster role"),
        ({"roles": ...}, "no roles claim"),
        ({"entities": "GB01"}, "entities claim must be a list of strings, not a string"),
        ({"entities": [["GB01"]]}, "entities claim must be a list of non-empty strings"),
        ({"entities": {"GB01": 1}}, "entities claim must be a list"),
        ({"entities": [""]}, "entities claim must be a list of non-empty strings"),
        ({"sub": 42}, "invalid bearer token"),
        ({"exp": ...}, '"exp"'),
        ({"aud": ...}, '"aud"'),
        ({"iss": ...}, '"iss"'),
        ({"aud": "another-app"}, "Audience"),
        ({"iss": "https://evil.example"}, "issuer"),
        ({"exp": datetime.now(UTC) - timedelta(minutes=5)}, "expired"),
        ({"exp": "tomorrow"}, "exp"),
    ],
)
def test_malformed_or_missing_claims_answer_401(
    call: Call, changes: dict[str, Any], words: str
) -> None:
    _refused(call(jwt.encode(claims(**changes), RSA_KEY, algorithm="RS256")), words)


@pytest.mark.usefixtures("pem_verifier")
def test_an_empty_entity_list_means_no_entity_not_every_entity(call: Call) -> None:
    path = f"{API}/customers?entity=GB01"
    assert call(jwt.encode(claims(), RSA_KEY, algorithm="RS256"), path).status_code == 200
    scoped = jwt.encode(claims(entities=["GB01"]), RSA_KEY, algorithm="RS256")
    assert call(scoped, path).status_code == 200
    assert call(scoped, f"{API}/customers?entity=DE01").status_code == 403
    nothing = jwt.encode(claims(entities=[]), RSA_KEY, algorithm="RS256")
    assert call(nothing, path).status_code == 403
    assert call(nothing, f"{API}/customers?entity=DE01").status_code == 403


@pytest.mark.usefixtures("pem_verifier")
def test_api_keys_keep_working_beside_tokens(client: TestClient) -> None:
    assert client.get(f"{API}/customers").status_code == 200
    forged = TestClient(client.app, raise_server_exceptions=False)
    forged.headers["Authorization"] = "Bearer cm_abc_def"
    assert forged.get(f"{API}/customers").status_code == 401


def test_a_jwks_of_several_key_types_selects_by_kid(
    container: Container, call: Call, tmp_path: Path
) -> None:
    entries = [
        {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY.public_key())), "kid": "r1"},
        {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(EC_KEY.public_key())), "kid": "e1"},
    ]
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": entries}))
    verifier = TokenVerifier.from_files(
        public_key_file=None,
        jwks_file=tmp_path / "jwks.json",
        algorithms=[],
        audience=AUD,
        issuer=ISS,
        roles_claim="groups",
        entities_claim="entities",
        role_map={"mdm-readers": "viewer"},
    )
    saved, container.token_verifier = container.token_verifier, verifier
    try:
        groups = claims(roles=..., groups=["mdm-readers", "vpn-users", "admin"])
        ec_token = jwt.encode(groups, EC_KEY, algorithm="ES256", headers={"kid": "e1"})
        rsa_token = jwt.encode(groups, RSA_KEY, algorithm="RS512", headers={"kid": "r1"})
        assert call(ec_token).status_code == 200
        assert call(rsa_token).status_code == 200
        # the role map's values only: an unmapped "admin" group grants nothing
        assert call(rsa_token, f"{API}/change-requests").status_code == 403
        _refused(
            call(jwt.encode(groups, EC_KEY, algorithm="ES256", headers={"kid": "r1"})),
            "alg ES256 does not fit the key (RSA)",
        )
        _refused(
            call(jwt.encode(groups, RSA_KEY, algorithm="RS256", headers={"kid": "x9"})),
            "no configured key has the kid 'x9'",
        )
        stranger = ec.generate_private_key(ec.SECP256R1())
        _refused(
            call(jwt.encode(groups, stranger, algorithm="ES256", headers={"kid": "e1"})),
            "signature",
        )
        nothing = claims(roles=..., groups=["vpn-users"])
        _refused(
            call(jwt.encode(nothing, RSA_KEY, algorithm="RS256", headers={"kid": "r1"})),
            "grants no custmaster role",
        )
    finally:
        container.token_verifier = saved
