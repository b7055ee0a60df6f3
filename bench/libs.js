// The npm tokenizers the token benchmark compares against, at the versions pinned in
// xtask; `cargo xtask bench tokens` bundles this with esbuild next to tokens.html.
import * as gptO200k from "gpt-tokenizer/encoding/o200k_base";
import * as gptCl100k from "gpt-tokenizer/encoding/cl100k_base";
import { Tiktoken } from "js-tiktoken/lite";
import o200kRanks from "js-tiktoken/ranks/o200k_base";
import cl100kRanks from "js-tiktoken/ranks/cl100k_base";

export const libs = {
  o200k_base: {
    "gpt-tokenizer": (t) => gptO200k.countTokens(t),
    "js-tiktoken": ((enc) => (t) => enc.encode(t).length)(new Tiktoken(o200kRanks)),
  },
  cl100k_base: {
    "gpt-tokenizer": (t) => gptCl100k.countTokens(t),
    "js-tiktoken": ((enc) => (t) => enc.encode(t).length)(new Tiktoken(cl100kRanks)),
  },
};
