// How these pages get a creditkit session: your backend signs the user in and mints a
// short-lived session for them (the API key never reaches the browser); here, the demo
// backend for Bob of KappaX. Also where the creditkit API is.
export const signIn = async () => {
  const r = await fetch("/demo/session", { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ product: "kappax", member: "bob" }) });
  return (await r.json()).token;
};
export const apiBase = async () => (await (await fetch("/demo/products")).json())[0].api;
