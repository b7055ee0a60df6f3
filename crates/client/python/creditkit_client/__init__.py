"""creditkit's HTTP API for an operator's Python backend.

Requests and answers are the wire types of creditkit's OpenAPI documents
(:mod:`creditkit_client.models`, generated from them); a refusal raises
:class:`CreditkitError`, whose ``code`` is creditkit's stable error code::

    from creditkit_client import Client, CreditkitError

    api = Client("https://credits.example.com", api_key)
    session = api.create_session({"external_id": "user-1", "ttl_seconds": 900})
    try:
        api.capture(hold_id, {}, idempotency_key=f"capture-{hold_id}")
    except CreditkitError as e:
        if e.code != "hold_not_active":
            raise
"""

from __future__ import annotations

from typing import Any, Optional

import httpx

from . import models

__all__ = ["Client", "CreditkitError", "models"]


class CreditkitError(Exception):
    """creditkit refused: ``status`` (HTTP), ``code`` (stable), ``body`` (the ApiError)."""

    def __init__(self, status: int, body: Optional[models.ApiError]):
        self.status = status
        self.body = body
        self.code = body.get("code", "unknown") if isinstance(body, dict) else "unknown"
        message = body.get("message") if isinstance(body, dict) else None
        super().__init__(message or f"creditkit answered {status}")


class Client:
    """One credential (a workspace API key, a session, or the operator key for the
    ``admin_*`` calls) against one server."""

    def __init__(self, base_url: str, token: str, *, http: Optional[httpx.Client] = None, timeout: float = 10.0):
        self._base = base_url.rstrip("/")
        self._http = http or httpx.Client(timeout=timeout)
        self._headers = {"Authorization": f"Bearer {token}"}

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Optional[dict] = None,
        idempotency_key: Optional[str] = None,
    ) -> Any:
        """Any operation of the documents: its answer as JSON, or CreditkitError."""
        headers = dict(self._headers)
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        r = self._http.request(method, self._base + path, json=json, params=params, headers=headers)
        if r.is_success:
            return r.json() if r.content else None
        try:
            body = r.json()
        except ValueError:
            body = None
        raise CreditkitError(r.status_code, body)

    # ------------------------------------------------------------ the workspace API

    def balance(self, wallet_id: Optional[str] = None) -> models.Balance:
        return self.request("GET", "/v1/balance", params={"wallet_id": wallet_id} if wallet_id else None)

    def create_session(self, body: models.SessionRequest) -> models.Session:
        """A short-lived browser session for a member (sign-in)."""
        return self.request("POST", "/v1/sessions", json=body)

    def quote(self, body: models.QuoteRequest) -> models.Quote:
        return self.request("POST", "/v1/quotes", json=body)

    def get_quote(self, quote_id: str) -> models.Quote:
        return self.request("GET", f"/v1/quotes/{quote_id}")

    def hold(self, body: models.HoldRequest, *, idempotency_key: str) -> models.Hold:
        """Confirm a quote: reserve its maximum."""
        return self.request("POST", "/v1/holds", json=body, idempotency_key=idempotency_key)

    def get_hold(self, hold_id: str) -> models.Hold:
        return self.request("GET", f"/v1/holds/{hold_id}")

    def capture(self, hold_id: str, body: models.CaptureRequest, *, idempotency_key: str) -> models.Hold:
        """Charge what the operation used, never above the hold (``{}``: an exact quote's price)."""
        return self.request("POST", f"/v1/holds/{hold_id}/capture", json=body, idempotency_key=idempotency_key)

    def release(self, hold_id: str, *, idempotency_key: str) -> models.Hold:
        """The operation failed: nothing is charged."""
        return self.request("POST", f"/v1/holds/{hold_id}/release", json={}, idempotency_key=idempotency_key)

    def extend(self, hold_id: str, body: models.ExtendRequest, *, idempotency_key: str) -> models.Hold:
        return self.request("POST", f"/v1/holds/{hold_id}/extend", json=body, idempotency_key=idempotency_key)

    def grant(self, body: models.GrantRequest, *, idempotency_key: str) -> models.Balance:
        return self.request("POST", "/v1/grants", json=body, idempotency_key=idempotency_key)

    # ------------------------------------------------------------- the operator API

    def admin_create_workspace(self, body: models.NewWorkspace) -> models.Workspace:
        return self.request("POST", "/admin/v1/workspaces", json=body)

    def admin_create_api_key(self, workspace_id: str, body: models.NewApiKey) -> models.ApiKeyCreated:
        """The customer's backend key; its secret is in this answer only."""
        return self.request("POST", f"/admin/v1/workspaces/{workspace_id}/keys", json=body)

    def admin_create_member(self, workspace_id: str, body: models.NewMember) -> models.Member:
        return self.request("POST", f"/admin/v1/workspaces/{workspace_id}/members", json=body)

    def admin_grant(self, workspace_id: str, body: models.GrantRequest, *, idempotency_key: str) -> models.Balance:
        return self.request(
            "POST", f"/admin/v1/workspaces/{workspace_id}/grants", json=body, idempotency_key=idempotency_key
        )
