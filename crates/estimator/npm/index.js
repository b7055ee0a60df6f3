// @creditkit/estimator: the WebAssembly module (creditkit_estimator.js), plus
// loadTokenCounter, which fetches in JavaScript so the module carries no futures machinery.
import { TokenCounter } from "./creditkit_estimator.js";

export * from "./creditkit_estimator.js";
export { default } from "./creditkit_estimator.js";

/** One counter per encoding per page; every counter handed out shares its rank data. */
const loaded = new Map();

/**
 * Fetches an encoding's rank data from a creditkit API (`{api}/v1/tokenizers/{name}`),
 * verifies it (its SHA-256 is compiled into the module) and returns a new counter.
 * The data is fetched and verified once per page.
 */
export function loadTokenCounter(api, encoding) {
  if (!TokenCounter.knows(encoding)) {
    return Promise.reject(new Error(`unknown encoding \`${encoding}\` (known: o200k_base, cl100k_base)`));
  }
  let first = loaded.get(encoding);
  if (!first) {
    first = fetch(`${String(api).replace(/\/+$/, "")}/v1/tokenizers/${encoding}`)
      .catch((e) => { throw new Error(`could not fetch the ${encoding} token data: ${e.message}`); })
      .then(async (response) => {
        if (!response.ok) throw new Error(`could not fetch the ${encoding} token data: HTTP ${response.status}`);
        return TokenCounter.fromBytes(encoding, new Uint8Array(await response.arrayBuffer()));
      });
    loaded.set(encoding, first);
    first.catch(() => loaded.delete(encoding));
  }
  return first.then((counter) => counter.another());
}
