// An operator's Node backend on @creditkit/client, against the real server: onboard a
// customer, mint its key, add a member, give credits, sign her in, and charge what she
// confirmed; a refusal comes back with its error code. Run by tests/clients.rs.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { CreditkitError, ok, operatorClient, workspaceClient } from "@creditkit/client";

const base = process.env.CREDITKIT_URL;
const card = JSON.parse(readFileSync(process.env.CREDITKIT_CARD, "utf8"));
const op = operatorClient(base, process.env.CREDITKIT_OPERATOR_KEY);

const ws = await ok(op.POST("/admin/v1/workspaces", { body: { name: "Node shop", card } }));
const path = { ws: ws.id };
const key = await ok(op.POST("/admin/v1/workspaces/{ws}/keys", { params: { path }, body: { name: "node backend" } }));
await ok(op.POST("/admin/v1/workspaces/{ws}/members", { params: { path }, body: { name: "Ada", role: "member", external_id: "ada" } }));
await ok(op.POST("/admin/v1/workspaces/{ws}/grants", {
  params: { path, header: { "Idempotency-Key": "welcome" } },
  body: { amount_millicredits: 50000, reason: "welcome" },
}));

const api = workspaceClient(base, key.secret);
const session = await ok(api.POST("/v1/sessions", { body: { external_id: "ada", ttl_seconds: 900 } }));
const browser = workspaceClient(base, session.token);
const quote = await ok(browser.POST("/v1/quotes", { body: { request: { action: "section", quantity: 2 } } }));
assert.equal(quote.hold_millicredits, 20000);
const hold = await ok(browser.POST("/v1/holds", { params: { header: { "Idempotency-Key": "ada-1" } }, body: { quote_id: quote.id } }));
// A member may not settle: refused, by code.
await assert.rejects(
  ok(browser.POST("/v1/holds/{id}/capture", { params: { path: { id: hold.id }, header: { "Idempotency-Key": "ada-1-m" } }, body: {} })),
  (e) => e instanceof CreditkitError && e.code === "forbidden" && e.status === 403,
);
const captured = await ok(api.POST("/v1/holds/{id}/capture", { params: { path: { id: hold.id }, header: { "Idempotency-Key": "ada-1-done" } }, body: {} }));
assert.equal(captured.status, "captured");
const balance = await ok(api.GET("/v1/balance"));
assert.equal(balance.balance_millicredits, 30000);
console.log("node client: workspace, key, member, grant, session, quote, hold, refusal by code, capture, balance 30 credits");
