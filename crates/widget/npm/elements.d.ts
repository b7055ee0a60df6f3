// Types of the custom elements the module registers when it loads: their attributes and
// the events they dispatch (on the element; they bubble to `document`).

/** Amounts are integer milli-credits: 1 credit = 1000. */
export interface CreditkitConfirmedDetail {
  quote_id: string;
  hold_id: string;
  /** What the hold reserves: never more than the user confirmed. */
  amount_millicredits: number;
  estimate: import("./creditkit.js").Estimate;
}
export interface CreditkitChargedDetail { hold_id: string; charged_millicredits: number }
export interface CreditkitReleasedDetail { hold_id: string }
export interface CreditkitInsufficientDetail {
  balance_millicredits: number;
  required_millicredits: number;
  shortfall_millicredits: number;
  /** The smallest pack that covers the shortfall, if the card sells packs. */
  pack?: { id: string; name: string; quantity: number; credits: number } | null;
  plan?: { id: string; name: string; credits: number } | null;
}
export interface CreditkitCapDetail {
  id: string; wallet_id: string;
  scope: "member" | "project" | "wallet"; subject?: string;
  period: "day" | "week" | "month" | "cycle";
  limit_millicredits: number; spent_millicredits: number; reserved_millicredits: number;
  left_millicredits: number; resets_at_ms: number;
}
export interface CreditkitBuyDetail { pack_id?: string; plan_id?: string; quantity: number }

export interface CreditkitEventMap {
  "creditkit:confirmed": CustomEvent<CreditkitConfirmedDetail>;
  "creditkit:charged": CustomEvent<CreditkitChargedDetail>;
  "creditkit:released": CustomEvent<CreditkitReleasedDetail>;
  "creditkit:insufficient": CustomEvent<CreditkitInsufficientDetail>;
  "creditkit:cap": CustomEvent<CreditkitCapDetail>;
  "creditkit:buy": CustomEvent<CreditkitBuyDetail>;
}

/** Attributes every element that calls the API reads. */
export interface CreditkitConnection {
  /** The creditkit API's base URL (default: the page's origin). */
  api?: string;
  /** A session token your backend minted (`ck_ss_…`); never an API key. */
  token?: string;
  /** Another wallet of the workspace than its default one. */
  wallet?: string;
}
/** `<creditkit-balance api token [wallet] [variant] [banner]>` */
export interface CreditkitBalanceAttributes extends CreditkitConnection {
  variant?: "badge" | "inline";
  /** Present: also show the low-balance banner. */
  banner?: "" | boolean;
}
/** `<creditkit-estimate request [card] [api token] [label] [input]>` */
export interface CreditkitEstimateAttributes extends CreditkitConnection {
  /** JSON of an `EstimateRequest`. */
  request: string;
  /** A rate card's JSON, to price without a server. */
  card?: string;
  label?: string;
  /** CSS selector of the textarea or input whose text is the chat turn. */
  input?: string;
}
/** `<creditkit-confirm request label api token [wallet]>` */
export interface CreditkitConfirmAttributes extends CreditkitConnection {
  request: string;
  /** The action's name on the button and in the dialog, e.g. "Generate image". */
  label: string;
}

export interface CreditkitElement extends HTMLElement {
  addEventListener<K extends keyof CreditkitEventMap>(
    type: K, listener: (this: CreditkitElement, ev: CreditkitEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    "creditkit-balance": CreditkitElement;
    "creditkit-estimate": CreditkitElement;
    "creditkit-confirm": CreditkitElement;
  }
  interface DocumentEventMap extends CreditkitEventMap {}
}
