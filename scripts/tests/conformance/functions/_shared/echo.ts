// Shared by the test-only functions conformance-echo and conformance-open (served by the test
// stack, never deployed): reports what the runtime gives a function, and can crash on request
// to prove the stack restarts it.
Deno.serve(async (req) => {
  const url = new URL(req.url);
  if (url.searchParams.has("crash")) {
    setTimeout(() => Deno.exit(3), 10);
    return new Response("crashing", { status: 500 });
  }
  const names = [
    "SUPABASE_URL",
    "SUPABASE_PUBLISHABLE_KEYS",
    "SUPABASE_SECRET_KEYS",
    "SUPABASE_JWKS",
    "SUPABASE_DB_URL",
    "SUPABASE_ANON_KEY",
    "SUPABASE_SERVICE_ROLE_KEY",
  ];
  // Which key shapes the function got and what reached it in Authorization (the tests compare
  // them with the stack's keys; values of secrets are never echoed).
  const parse = (name: string) => {
    try {
      return JSON.parse(Deno.env.get(name) ?? "null");
    } catch {
      return "unparsable";
    }
  };
  const secretKeys = parse("SUPABASE_SECRET_KEYS") as Record<string, string> | null;
  const jwks = parse("SUPABASE_JWKS") as { keys?: Record<string, unknown>[] } | null;
  return Response.json({
    publishableKeys: parse("SUPABASE_PUBLISHABLE_KEYS"),
    secretKeyNames: secretKeys && typeof secretKeys === "object" ? Object.keys(secretKeys) : null,
    secretKeyPrefixes: secretKeys && typeof secretKeys === "object"
      ? Object.values(secretKeys).map((k) => String(k).slice(0, 10))
      : null,
    jwksKids: jwks?.keys?.map((k) => k.kid) ?? null,
    jwksKinds: jwks?.keys?.map((k) => k.kty) ?? null,
    authorization: req.headers.get("authorization"),
    pid: Deno.pid,
    method: req.method,
    path: url.pathname,
    body: req.method === "GET" ? null : await req.text(),
    env: Object.fromEntries(names.map((n) => [n, Boolean(Deno.env.get(n))])),
    hasWaitUntil: typeof (globalThis as { EdgeRuntime?: { waitUntil?: unknown } }).EdgeRuntime
      ?.waitUntil === "function",
  });
});
