// Compiled with `tsc --noEmit` (strict) by tests/clients.rs: the client's types come from
// the OpenAPI documents, so a wrong path, body or field is a compile error. The
// `@ts-expect-error` lines fail the compile if the types were too loose to catch them.
import { ok, workspaceClient, type Schemas } from "@creditkit/client";

declare const base: string;
declare const token: string;

export async function charge(): Promise<number> {
  const api = workspaceClient(base, token);
  const quote: Schemas["Quote"] = await ok(api.POST("/v1/quotes", { body: { request: { action: "section" } } }));
  const held: number = quote.hold_millicredits;
  // @ts-expect-error: no such field on a quote
  const wrong = quote.hold_credits;
  // @ts-expect-error: a capture needs its Idempotency-Key header
  await api.POST("/v1/holds/{id}/capture", { params: { path: { id: "hld_1" } }, body: {} });
  // @ts-expect-error: no such route
  await api.GET("/v1/no-such-route");
  void wrong;
  return held;
}
