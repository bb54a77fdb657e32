"""The API docs page (Swagger UI from the sidecar package) loads the schema and renders every
operation under its resource, with no Content-Security-Policy violation in the console."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_api_docs_render_with_no_console_error(browser, live_server):
    page = browser.new_context(base_url=live_server.url).new_page()
    messages: list[str] = []
    page.on("console", lambda m: m.type in ("error", "warning") and messages.append(m.text))
    page.on("pageerror", lambda error: messages.append(str(error)))
    page.goto("/api/v1/docs/")
    page.wait_for_selector(".opblock-tag", timeout=15_000)
    page.wait_for_load_state("networkidle")
    tags = page.locator(".opblock-tag").all_inner_texts()
    assert {"partners", "programs", "enrollments", "people", "invitations", "imports"} <= {
        tag.split()[0] for tag in tags
    }, tags
    assert messages == []
