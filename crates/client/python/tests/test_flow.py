"""An operator's Python backend on creditkit_client, against the real server (started by
tests/clients.rs, which passes its address and the operator key)."""

import json
import os

import pytest

from creditkit_client import Client, CreditkitError, models


@pytest.fixture
def env():
    with open(os.environ["CREDITKIT_CARD"]) as f:
        card = json.load(f)
    return os.environ["CREDITKIT_URL"], os.environ["CREDITKIT_OPERATOR_KEY"], card


def test_the_models_are_the_documents_types():
    assert "hold_millicredits" in models.Quote.__annotations__
    assert "code" in models.ApiError.__annotations__


def test_an_operator_flow(env):
    base, operator_key, card = env
    op = Client(base, operator_key)
    ws = op.admin_create_workspace({"name": "Python shop", "card": card})
    key = op.admin_create_api_key(ws["id"], {"name": "python backend"})
    op.admin_create_member(ws["id"], {"name": "Ada", "role": "member", "external_id": "ada"})
    op.admin_grant(ws["id"], {"amount_millicredits": 50_000, "reason": "welcome"}, idempotency_key="welcome")

    api = Client(base, key["secret"])
    session = api.create_session({"external_id": "ada", "ttl_seconds": 900})
    browser = Client(base, session["token"])
    quote = browser.quote({"request": {"action": "section", "quantity": 2}})
    assert quote["hold_millicredits"] == 20_000
    hold = browser.hold({"quote_id": quote["id"]}, idempotency_key="ada-1")
    with pytest.raises(CreditkitError) as refused:
        browser.capture(hold["id"], {}, idempotency_key="ada-1-member")
    assert (refused.value.status, refused.value.code) == (403, "forbidden")
    captured = api.capture(hold["id"], {}, idempotency_key="ada-1-done")
    assert captured["status"] == "captured"
    with pytest.raises(CreditkitError) as again:
        api.release(hold["id"], idempotency_key="ada-1-release")
    assert again.value.code == "hold_not_active"
    assert api.balance()["balance_millicredits"] == 30_000
