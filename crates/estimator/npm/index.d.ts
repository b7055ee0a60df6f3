export * from "./creditkit_estimator.js";
export { default } from "./creditkit_estimator.js";
import { TokenCounter } from "./creditkit_estimator.js";

/**
 * Fetches an encoding's rank data from a creditkit API (`{api}/v1/tokenizers/{name}`),
 * verifies it (its SHA-256 is compiled into the module) and returns a new counter.
 * The data is fetched and verified once per page.
 */
export function loadTokenCounter(api: string, encoding: "o200k_base" | "cl100k_base" | string): Promise<TokenCounter>;
