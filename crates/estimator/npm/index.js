// @creditkit/estimator: the pricing module (creditkit_estimator.js), plus the token
// counter, a second module (creditkit_token_counter.js) loaded when a page first counts:
// its rank data is fetched then anyway, and the first screen does not carry it.
import { useTokenCounts } from "./creditkit_estimator.js";

export * from "./creditkit_estimator.js";
export { default } from "./creditkit_estimator.js";

const ENCODINGS = ["o200k_base", "cl100k_base"];
const unknown = (encoding) =>
  new Error(`unknown encoding \`${encoding}\` (known: ${ENCODINGS.join(", ")})`);

/** The token-counter module, started once per page. */
let counterModule;
function counters(options) {
  if (!counterModule) {
    counterModule = import("./creditkit_token_counter.js").then(async (m) => {
      await m.default(options && options.module_or_path ? { module_or_path: options.module_or_path } : undefined);
      return m;
    });
    counterModule.catch(() => { counterModule = undefined; });
  }
  return counterModule;
}

/**
 * A counter from rank data already in memory (refused unless its SHA-256 matches), for
 * pages that host the data themselves. Estimates count `input_text` exactly from then on.
 */
export async function tokenCounterFromBytes(encoding, bytes, options) {
  if (!ENCODINGS.includes(encoding)) throw unknown(encoding);
  const { TokenCounter } = await counters(options);
  const counter = TokenCounter.fromBytes(encoding, bytes);
  // Its own counter, so pricing never moves a text box's incremental state.
  const pricing = counter.another();
  useTokenCounts(encoding, (text) => pricing.count(text));
  return counter;
}

/** One counter per encoding per page; every counter handed out shares its rank data. */
const loaded = new Map();

/**
 * Fetches an encoding's rank data from a creditkit API (`{api}/v1/tokenizers/{name}`),
 * verifies it (its SHA-256 is compiled into the module) and returns a new counter.
 * The data is fetched and verified once per page.
 */
export function loadTokenCounter(api, encoding, options) {
  if (!ENCODINGS.includes(encoding)) return Promise.reject(unknown(encoding));
  let first = loaded.get(encoding);
  if (!first) {
    first = fetch(`${String(api).replace(/\/+$/, "")}/v1/tokenizers/${encoding}`)
      .catch((e) => { throw new Error(`could not fetch the ${encoding} token data: ${e.message}`); })
      .then(async (response) => {
        if (!response.ok) throw new Error(`could not fetch the ${encoding} token data: HTTP ${response.status}`);
        return tokenCounterFromBytes(encoding, new Uint8Array(await response.arrayBuffer()), options);
      });
    loaded.set(encoding, first);
    first.catch(() => loaded.delete(encoding));
  }
  return first.then((counter) => counter.another());
}
