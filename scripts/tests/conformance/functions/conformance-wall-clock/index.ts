// Test-only function (served by the test stack with a 2 s wall-clock limit): answers 202 and
// keeps working in the background past the limit, so the runtime must kill it.
declare const EdgeRuntime: { waitUntil(p: Promise<unknown>): void };

Deno.serve((req) => {
  const seconds = Number(new URL(req.url).searchParams.get("seconds") ?? "30");
  EdgeRuntime.waitUntil(new Promise((r) => setTimeout(r, seconds * 1000)));
  return Response.json({ pid: Deno.pid }, { status: 202 });
});
