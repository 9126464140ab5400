"""``custmaster serve`` refuses settings that cannot work, in one line naming them."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from typer.testing import CliRunner

from custmaster.cli import app as cli_app

runner = CliRunner()


@pytest.fixture
def pem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    def never(*_: object) -> None:
        raise AssertionError("the server must not start")

    monkeypatch.setattr(cli_app, "_serve", never)
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "idp.pem"
    path.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def _serve(tmp_path: Path, env: dict[str, str]) -> tuple[int, str]:
    url = f"sqlite:///{tmp_path / 'cm.db'}"
    result = runner.invoke(cli_app.app, ["serve", "--database-url", url], env=env)
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({}, "CUSTMASTER_JWT_AUDIENCE and CUSTMASTER_JWT_ISSUER are not set"),
        ({"CUSTMASTER_JWT_AUDIENCE": "custmaster"}, "CUSTMASTER_JWT_ISSUER is not set"),
        ({"CUSTMASTER_JWT_ISSUER": "https://idp.example"}, "CUSTMASTER_JWT_AUDIENCE is not set"),
    ],
)
def test_jwt_without_audience_or_issuer_refuses_to_start(
    pem: Path, tmp_path: Path, given: dict[str, str], named: str
) -> None:
    env = {
        "CUSTMASTER_JWT_PUBLIC_KEY_FILE": str(pem),
        "CUSTMASTER_JWT_AUDIENCE": "",
        "CUSTMASTER_JWT_ISSUER": "",
        **given,
    }
    code, output = _serve(tmp_path, env)
    assert code == 2
    assert named in output
    assert len(output.strip().splitlines()) == 1, output


@pytest.mark.parametrize(
    ("algorithms", "named"),
    [
        ('["HS256"]', "HS256 not accepted"),
        ('["none", "RS256"]', "none not accepted"),
        ('["ES256"]', "no configured JWT key verifies"),
    ],
)
def test_symmetric_unsigned_or_unfitting_algorithms_refuse_to_start(
    pem: Path, tmp_path: Path, algorithms: str, named: str
) -> None:
    env = {
        "CUSTMASTER_JWT_PUBLIC_KEY_FILE": str(pem),
        "CUSTMASTER_JWT_AUDIENCE": "custmaster",
        "CUSTMASTER_JWT_ISSUER": "https://idp.example",
        "CUSTMASTER_JWT_ALGORITHMS": algorithms,
    }
    code, output = _serve(tmp_path, env)
    assert code == 2 and named in output
    assert len(output.strip().splitlines()) == 1, output


def test_a_role_map_to_an_unknown_role_refuses_to_start(pem: Path, tmp_path: Path) -> None:
    env = {
        "CUSTMASTER_JWT_PUBLIC_KEY_FILE": str(pem),
        "CUSTMASTER_JWT_AUDIENCE": "custmaster",
        "CUSTMASTER_JWT_ISSUER": "https://idp.example",
        "CUSTMASTER_JWT_ROLE_MAP": '{"mdm-admins": "root"}',
    }
    code, output = _serve(tmp_path, env)
    assert code == 2 and "'root', not a custmaster role" in output
