"""Structured logs carry the request id and the bound tenant."""

import json
import logging

from tenancy.context import tenant_scope
from tenancy.logging import JsonFormatter, RequestContextFilter, request_id_var


def _format(record: logging.LogRecord) -> dict:
    RequestContextFilter().filter(record)
    return json.loads(JsonFormatter().format(record))


def test_log_line_carries_request_and_tenant(worlds):
    alpha, _ = worlds
    token = request_id_var.set("req-123")
    try:
        with tenant_scope(alpha.tenant):
            record = logging.makeLogRecord(
                {"msg": "claim %s approved", "args": (7,), "levelname": "INFO"}
            )
            line = _format(record)
    finally:
        request_id_var.reset(token)
    assert line["message"] == "claim 7 approved"
    assert (line["request_id"], line["tenant_id"]) == ("req-123", alpha.tenant.pk)


def test_request_id_comes_back_in_the_response(client):
    response = client.get("/accounts/login/", HTTP_X_REQUEST_ID="edge-42")
    assert response["X-Request-ID"] == "edge-42"
    assert len(client.get("/accounts/login/", HTTP_X_REQUEST_ID="bad id!")["X-Request-ID"]) == 32
