"""Helpers of the browser tests: sign in as a user, check a page with axe-core, take its
screenshot for docs/console/."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import AXE, SCREENSHOTS, Served

#: WCAG 2.0/2.1/2.2 A and AA rules
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def sign_in(page: Any, served: Served, user: str) -> None:
    page.goto(f"{served.url}/console")
    assert "/console/login" in page.url  # no session: the sign-in page
    page.get_by_label("API key").fill(served.world.keys[user])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{served.url}/console")
    assert page.get_by_test_id("user-name").inner_text() == user


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/console/login")


def serious_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now (axe is
    evaluated over the DevTools protocol: the page's CSP allows no injected script tag)."""
    page.evaluate(AXE.read_text())
    result: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
            const found = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return found.violations
                .filter(v => v.impact === "serious" || v.impact === "critical")
                .map(v => ({id: v.id, impact: v.impact, help: v.help,
                            nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
        }""",
        AXE_TAGS,
    )
    return result


def check_page(page: Any, name: str) -> None:
    """No serious or critical accessibility violation; the page's screenshot saved."""
    page.wait_for_load_state("networkidle")
    violations = serious_violations(page)
    assert not violations, f"{name}: {violations}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
