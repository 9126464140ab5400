"""Hostile values in every request body field and every query parameter (Hypothesis):
NUL bytes, lone surrogates, numbers no column holds, deep nesting and large sizes. Each
is refused with a 4xx or stored and served back; never a 5xx. Both databases.

``CUSTMASTER_FUZZ_EXAMPLES`` sets the examples per route (default 6)."""

from __future__ import annotations

import json
import os
from urllib.parse import quote

import hypothesis
import pytest
from fastapi.testclient import TestClient
from hypothesis import strategies as st

from tests.security.routes import Route, all_routes, resolve, route_ids
from tests.security.world import World

EXAMPLES = int(os.environ.get("CUSTMASTER_FUZZ_EXAMPLES", "6"))
SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    suppress_health_check=list(hypothesis.HealthCheck),
)

# -- the strategies ----------------------------------------------------------------------


def nasty_text(longest: int = 300_000) -> st.SearchStrategy[str]:
    """Text with what databases and encoders choke on: NUL, lone surrogates, control
    characters, right-to-left marks, and runs up to ``longest`` characters."""
    nasty_chars = st.sampled_from(["\x00", "\ud800", "\udfff", "\x1b", "\u202e", "\ufeff", "'"])
    pieces = st.lists(st.one_of(nasty_chars, st.text(max_size=5)), min_size=1, max_size=6)
    return st.one_of(
        pieces.map("".join),
        st.integers(min_value=256, max_value=longest).map(lambda n: "x" * n),
    )


#: Numbers as JSON text: beyond 64 bits, beyond a double, negative zero, exponents.
EXTREME_NUMBERS = st.sampled_from(
    [
        str(2**63),
        str(-(2**63) - 1),
        str(2**64),
        "1" + "0" * 100,
        "1e400",
        "-1e400",
        "-0",
        "1e-400",
        "9" * 5000,
        "0.000000000000000000000000001",
        "123456789012345678901234.5",
    ]
)


def deep(depth: int, leaf: str = "1") -> str:
    """JSON nested ``depth`` levels (lists and objects in turn)."""
    text = leaf
    for level in range(depth):
        text = f"[{text}]" if level % 2 else f'{{"a":{text}}}'
    return text


def hostile_json() -> st.SearchStrategy[str]:
    """One JSON value (as text) of a hostile kind."""
    return st.one_of(
        nasty_text().map(json.dumps),
        EXTREME_NUMBERS,
        st.integers(min_value=20, max_value=3_000).map(deep),
        st.integers(min_value=1_000, max_value=20_000).map(
            lambda n: "[" + ",".join(["{}"] * n) + "]"
        ),
        st.just('{"' + "k" * 10_000 + '": 1}'),
        st.sampled_from(["null", "true", "[]", "{}", '""']),
    )


def _body_fields(route: Route) -> list[str]:
    content = route.operation.get("requestBody", {}).get("content", {})
    schema = resolve(content.get("application/json", {}).get("schema", {}))
    return sorted(schema.get("properties", {})) or ["name"]


def hostile_body(route: Route) -> st.SearchStrategy[str]:
    """A JSON object for the route's body with some of its fields hostile, or a hostile
    value as the whole body."""
    fields = _body_fields(route)
    members = st.dictionaries(st.sampled_from(fields), hostile_json(), min_size=1, max_size=3)
    as_object = members.map(
        lambda m: "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in m.items()) + "}"
    )
    return st.one_of(as_object, hostile_json())


# -- the tests ---------------------------------------------------------------------------

JSON_BODIES = tuple(
    r
    for r in all_routes()
    if "application/json" in r.operation.get("requestBody", {}).get("content", {})
)
QUERIES = tuple(r for r in all_routes() if r.query_params)


def _url(route: Route, world: World, client: TestClient) -> str:
    if route.method == "DELETE":
        return route.ghost_url()
    return route.url(world.fill(route, client)[0])


@pytest.mark.parametrize("route", JSON_BODIES, ids=route_ids(JSON_BODIES))
def test_hostile_bodies_never_answer_5xx(admin: TestClient, world: World, route: Route) -> None:
    url = _url(route, world, admin)

    first = json.dumps(_body_fields(route)[0])

    @SETTINGS
    @hypothesis.given(body=hostile_body(route))
    @hypothesis.example(body=deep(10_000))
    @hypothesis.example(body=f'{{{first}: "a\\u0000b"}}')
    @hypothesis.example(body=f'{{{first}: "a\\ud800b"}}')
    @hypothesis.example(body=f"{{{first}: {2**64}}}")
    def run(body: str) -> None:
        response = admin.request(
            route.method,
            url,
            content=body.encode("utf-8", "surrogatepass"),
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code < 500, (route.key, body[:300], response.text[:300])

    run()


@pytest.mark.parametrize("route", QUERIES, ids=route_ids(QUERIES))
def test_hostile_query_parameters_never_answer_5xx(
    admin: TestClient, world: World, route: Route
) -> None:
    url = _url(route, world, admin)
    names = [p["name"] for p in route.query_params]
    # an URL carries some kilobytes (an HTTP server refuses longer request lines)
    value = st.one_of(nasty_text(longest=4_000), EXTREME_NUMBERS, st.just("\udcff".join("ab")))

    @SETTINGS
    @hypothesis.given(params=st.dictionaries(st.sampled_from(names), value, min_size=1))
    @hypothesis.example(params={names[0]: "a\x00b"})
    @hypothesis.example(params={names[0]: "a\ud800b"})
    @hypothesis.example(params={names[0]: str(10**30)})
    def run(params: dict[str, str]) -> None:
        query = "&".join(
            f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in params.items()
        )
        response = admin.request(route.method, f"{url}?{query}")
        assert response.status_code < 500, (route.key, params, response.text[:300])

    run()
