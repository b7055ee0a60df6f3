export * from "./creditkit_estimator.js";
export { default } from "./creditkit_estimator.js";
import type { TokenCounter } from "./creditkit_token_counter.js";
export type { TokenCounter } from "./creditkit_token_counter.js";

/** Where the token-counter module's wasm is, when a bundler does not place it beside the code. */
export interface CounterOptions {
  module_or_path?: string | URL | Request | Response | BufferSource | WebAssembly.Module;
}

/**
 * Fetches an encoding's rank data from a creditkit API (`{api}/v1/tokenizers/{name}`),
 * verifies it (its SHA-256 is compiled into the module) and returns a new counter.
 * The data is fetched and verified once per page; the token-counter module is loaded
 * with the first call. Estimates count `input_text` exactly from then on.
 */
export function loadTokenCounter(api: string, encoding: "o200k_base" | "cl100k_base" | string, options?: CounterOptions): Promise<TokenCounter>;

/** A counter from rank data already in memory (refused unless its SHA-256 matches). */
export function tokenCounterFromBytes(encoding: "o200k_base" | "cl100k_base" | string, bytes: Uint8Array, options?: CounterOptions): Promise<TokenCounter>;
