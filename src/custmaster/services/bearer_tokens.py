"""OIDC/JWT bearer tokens: verified with configured public keys, each pinned to the
signature algorithms of its own type, and turned into a principal only when every claim
has the expected shape.

Fail closed everywhere: an algorithm a key was not made for, a key id no configured key
has, a token without ``exp``, ``aud`` or ``iss``, roles or entities of the wrong type, a
role custmaster does not know: each answers ``Unauthenticated`` (401), never an error of
the server. Symmetric (HS*) and unsigned (``none``) tokens are never accepted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from custmaster.domain.errors import Unauthenticated
from custmaster.domain.permissions import Principal, Role
from custmaster.services.settings import ConfigurationError

RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
#: An EC key verifies the one ES* algorithm of its curve.
EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
EDDSA_ALGORITHMS = ("EdDSA",)
ASYMMETRIC_ALGORITHMS = frozenset(RSA_ALGORITHMS + tuple(EC_ALGORITHMS.values()) + EDDSA_ALGORITHMS)
#: Clock skew tolerated on exp, nbf and iat.
LEEWAY_SECONDS = 30


@dataclass(frozen=True)
class VerificationKey:
    """A public key, its key id (from a JWKS; None for a PEM file) and the algorithms
    tokens signed with it may use."""

    key: Any
    kid: str | None
    algorithms: frozenset[str]
    kind: str


def _algorithms_of(key: Any) -> tuple[str, frozenset[str]]:
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", frozenset(RSA_ALGORITHMS)
    if isinstance(key, ec.EllipticCurvePublicKey):
        alg = EC_ALGORITHMS.get(key.curve.name)
        if alg is None:
            raise ConfigurationError(f"EC keys on the curve {key.curve.name} are not supported")
        return f"EC {key.curve.name}", frozenset({alg})
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return "OKP", frozenset(EDDSA_ALGORITHMS)
    raise ConfigurationError(
        f"{type(key).__name__} is not a public key custmaster verifies tokens with "
        "(RSA, EC P-256/P-384/P-521 or Ed25519/Ed448)"
    )


def _pinned(
    key: Any, kid: str | None, configured: frozenset[str] | None, alg: str | None, source: str
) -> VerificationKey:
    kind, algorithms = _algorithms_of(key)
    if alg is not None:
        if alg not in algorithms:
            raise ConfigurationError(f"{source}: a {kind} key cannot verify alg {alg}")
        algorithms = frozenset({alg})
    if configured is not None:
        algorithms &= configured
    return VerificationKey(key, kid, algorithms, kind)


def load_pem_key(path: Path, configured: frozenset[str] | None) -> VerificationKey:
    data = path.read_bytes()
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            key: Any = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise ConfigurationError(
            f"CUSTMASTER_JWT_PUBLIC_KEY_FILE={path} holds no PEM public key or certificate ({exc})"
        ) from None
    return _pinned(key, None, configured, None, str(path))


def load_jwks(path: Path, configured: frozenset[str] | None) -> list[VerificationKey]:
    try:
        document = json.loads(path.read_text())
        entries = document["keys"]
        if not isinstance(entries, list):
            raise TypeError("keys is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"CUSTMASTER_JWT_JWKS_FILE={path} is not a JWKS document ({exc})"
        ) from None
    keys: list[VerificationKey] = []
    for index, entry in enumerate(entries):
        source = f"{path} keys[{index}]"
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        if entry.get("kty") not in {"RSA", "EC", "OKP"}:
            raise ConfigurationError(f"{source}: only RSA, EC and OKP public keys verify tokens")
        kid = entry.get("kid")
        alg = entry.get("alg")
        try:
            key = jwt.PyJWK(entry).key
        except jwt.PyJWTError as exc:
            raise ConfigurationError(f"{source}: {exc}") from None
        keys.append(
            _pinned(
                key,
                kid if isinstance(kid, str) else None,
                configured,
                alg if isinstance(alg, str) else None,
                source,
            )
        )
    return keys


def _string_list(claims: Mapping[str, Any], name: str) -> list[str]:
    value = claims[name]
    if isinstance(value, str):
        raise Unauthenticated(f"the token's {name} claim must be a list of strings, not a string")
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise Unauthenticated(f"the token's {name} claim must be a list of non-empty strings")
    return value


@dataclass(frozen=True)
class TokenVerifier:
    """Verifies bearer tokens with the configured keys and maps claims to a principal.

    Without a role map the roles claim must hold custmaster role names only; with one,
    only the mapped values count (the claim may carry the identity provider's groups of
    every application) and the others are ignored. An absent entities claim means every
    legal entity; an empty list means none."""

    keys: list[VerificationKey]
    audience: str
    issuer: str
    roles_claim: str
    entities_claim: str
    role_map: dict[str, Role]

    @classmethod
    def from_files(
        cls,
        *,
        public_key_file: Path | None,
        jwks_file: Path | None,
        algorithms: Iterable[str],
        audience: str | None,
        issuer: str | None,
        roles_claim: str,
        entities_claim: str,
        role_map: Mapping[str, str],
    ) -> TokenVerifier | None:
        """None when no key is configured (bearer tokens are then API keys only);
        ``ConfigurationError`` for any setting that cannot work."""
        if public_key_file is None and jwks_file is None:
            return None
        required = (("CUSTMASTER_JWT_AUDIENCE", audience), ("CUSTMASTER_JWT_ISSUER", issuer))
        missing = [name for name, value in required if not value]
        if missing:
            raise ConfigurationError(
                f"JWT bearer tokens are configured but {' and '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} not set: set "
                f"{'it' if len(missing) == 1 else 'them'} to the aud and iss your identity "
                "provider issues for custmaster"
            )
        configured = frozenset(algorithms) or None
        if configured is not None and not configured <= ASYMMETRIC_ALGORITHMS:
            wrong = ", ".join(sorted(configured - ASYMMETRIC_ALGORITHMS))
            raise ConfigurationError(
                f"CUSTMASTER_JWT_ALGORITHMS: {wrong} not accepted; use public-key algorithms "
                f"({', '.join(sorted(ASYMMETRIC_ALGORITHMS))})"
            )
        roles: dict[str, Role] = {}
        for value, role in role_map.items():
            if role not in Role._value2member_map_:
                raise ConfigurationError(
                    f"CUSTMASTER_JWT_ROLE_MAP: {value!r} maps to {role!r}, not a custmaster role"
                )
            roles[value] = Role(role)
        keys: list[VerificationKey] = []
        if public_key_file is not None:
            keys.append(load_pem_key(public_key_file, configured))
        if jwks_file is not None:
            keys.extend(load_jwks(jwks_file, configured))
        keys = [k for k in keys if k.algorithms]
        if not keys:
            raise ConfigurationError(
                "no configured JWT key verifies any of CUSTMASTER_JWT_ALGORITHMS"
            )
        return cls(keys, audience or "", issuer or "", roles_claim, entities_claim, roles)

    @property
    def algorithms(self) -> frozenset[str]:
        return frozenset().union(*(k.algorithms for k in self.keys))

    def _candidates(self, header: Mapping[str, Any]) -> list[VerificationKey]:
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in self.algorithms:
            accepted = ", ".join(sorted(self.algorithms))
            raise Unauthenticated(f"tokens signed with alg {alg!r} are not accepted ({accepted})")
        if kid is not None and not isinstance(kid, str):
            raise Unauthenticated("the token's kid must be a string")
        keys = self.keys
        if kid is not None and any(k.kid == kid for k in keys):
            keys = [k for k in keys if k.kid == kid]
        elif kid is not None:
            keys = [k for k in keys if k.kid is None]
            if not keys:
                raise Unauthenticated(f"no configured key has the kid {kid!r}")
        fitting = [k for k in keys if alg in k.algorithms]
        if not fitting:
            kinds = ", ".join(sorted({k.kind for k in keys}))
            raise Unauthenticated(f"alg {alg} does not fit the key ({kinds}) of this token")
        return fitting

    def _claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid bearer token: {exc}") from None
        for key in self._candidates(header):
            try:
                claims: dict[str, Any] = jwt.decode(
                    token,
                    key.key,
                    algorithms=[str(header["alg"])],
                    audience=self.audience,
                    issuer=self.issuer,
                    leeway=LEEWAY_SECONDS,
                    options={"require": ["exp", "sub", "aud", "iss"]},
                )
                return claims
            except jwt.InvalidSignatureError:
                continue  # another key of the same kind may have signed it
            except (jwt.PyJWTError, ValueError, TypeError) as exc:
                raise Unauthenticated(f"invalid bearer token: {exc}") from None
        raise Unauthenticated("invalid bearer token: no configured key verifies its signature")

    def _roles(self, claims: Mapping[str, Any]) -> frozenset[Role]:
        if self.roles_claim not in claims:
            raise Unauthenticated(f"the token has no {self.roles_claim} claim")
        values = _string_list(claims, self.roles_claim)
        if self.role_map:
            roles = frozenset(self.role_map[v] for v in values if v in self.role_map)
        else:
            unknown = sorted({v for v in values if v not in Role._value2member_map_})
            if unknown:
                raise Unauthenticated(
                    f"the token's {self.roles_claim} claim holds unknown roles: "
                    f"{', '.join(unknown)[:200]}"
                )
            roles = frozenset(Role(v) for v in values)
        if not roles:
            raise Unauthenticated(f"the token grants no custmaster role ({self.roles_claim})")
        return roles

    def _entities(self, claims: Mapping[str, Any]) -> frozenset[str] | None:
        if self.entities_claim not in claims:
            return None  # every legal entity
        return frozenset(_string_list(claims, self.entities_claim))

    def verify(self, token: str) -> Principal:
        claims = self._claims(token)
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated("the token's sub claim must be a non-empty string")
        name = claims.get("name")
        return Principal(
            user_id=subject,
            name=name if isinstance(name, str) and name else subject,
            roles=self._roles(claims),
            entities=self._entities(claims),
        )
