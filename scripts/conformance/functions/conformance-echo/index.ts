// Test-only function (served by the test stack, never deployed): reports what the runtime
// gives a function, and can crash on request to prove the stack restarts it.
Deno.serve(async (req) => {
  const url = new URL(req.url);
  if (url.searchParams.has("crash")) {
    setTimeout(() => Deno.exit(3), 10);
    return new Response("crashing", { status: 500 });
  }
  const names = [
    "SUPABASE_URL",
    "SUPABASE_ANON_KEY",
    "SUPABASE_SERVICE_ROLE_KEY",
    "SUPABASE_DB_URL",
  ];
  return Response.json({
    pid: Deno.pid,
    method: req.method,
    path: url.pathname,
    body: req.method === "GET" ? null : await req.text(),
    env: Object.fromEntries(names.map((n) => [n, Boolean(Deno.env.get(n))])),
    hasWaitUntil: typeof (globalThis as { EdgeRuntime?: { waitUntil?: unknown } }).EdgeRuntime
      ?.waitUntil === "function",
  });
});
