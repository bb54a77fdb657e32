"""`Idempotency-Key` for API calls that create: a client that sends a change again with the
same key (a retry after a timeout) gets the first answer again instead of a second change.

`replayed_or_run(request, membership, run)` inside the request's transaction:
- takes the key (1 to 255 printable ASCII characters; anything else is a 400 on the header);
- inserts the key's row with a token of its own (`INSERT ... ON CONFLICT DO NOTHING`). A
  concurrent request with the same key waits there for the first one's transaction to end:
  committed, the row holds the first answer, which is replayed; rolled back, the row is gone
  and the second request runs;
- the same key with another body (a hash of its canonical JSON) is refused, 422;
- otherwise runs `run()` and stores its answer in the row, in the same transaction. An error
  answer rolls the transaction back (`tenancy.api.base`), row and all, so a retry runs again.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable

from rest_framework.response import Response

from tenancy.errors import ApplicationError, Unprocessable
from tenancy.models import IdempotencyKey, Membership

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


class KeyReused(Unprocessable):
    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key was used with another request body; use a new key for a new "
            "request.",
            code="idempotency_key_reused",
        )


def _hash(request) -> str:
    payload = json.dumps({"path": request.path, "body": request.data}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def replayed_or_run(request, membership: Membership, run: Callable[[], Response]) -> Response:
    key = request.headers.get(HEADER)
    if key is None:
        return run()
    if not _KEY.match(key):
        raise ApplicationError(
            "The Idempotency-Key header is 1 to 255 printable ASCII characters.",
            field=HEADER,
        )
    request_hash = _hash(request)
    token = secrets.token_hex(16)
    IdempotencyKey.objects.bulk_create(
        [IdempotencyKey(membership=membership, key=key, request_hash=request_hash, claimant=token)],
        ignore_conflicts=True,
    )
    row = IdempotencyKey.objects.select_for_update().get(membership=membership, key=key)
    if row.request_hash != request_hash:
        raise KeyReused()
    if row.claimant != token:
        response = Response(row.body, status=row.status)
        response["Idempotent-Replayed"] = "true"
        return response
    response = run()
    row.status, row.body = response.status_code, response.data
    row.save(update_fields=["status", "body"])
    return response
