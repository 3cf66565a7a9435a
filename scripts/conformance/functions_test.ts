/**
 * Conformance: /functions/v1 — served through supabase-js `functions.invoke`, with Supabase's
 * env vars, verify_jwt, restart after a crash and the kills at the hosted limits (wall clock,
 * memory, CPU; supabase/functions/_shared/limits.ts). Stack-only: the
 * functions under scripts/conformance/functions are served by the test stack, never deployed.
 */
import { FunctionsHttpError } from "@supabase/supabase-js";
import { anonClient, serviceClient, stackEnv } from "../testing/stack_env.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

Deno.test("a function gets Supabase's env vars, EdgeRuntime.waitUntil and the request", async () => {
  const { data, error } = await serviceClient().functions.invoke("conformance-echo", {
    body: { hello: "world" },
  });
  assert(!error, `invoke failed: ${error}`);
  assert(data.method === "POST", `method ${data.method}`);
  assert(JSON.parse(data.body).hello === "world", `body ${data.body}`);
  for (const [name, present] of Object.entries(data.env)) assert(present, `${name} missing`);
  assert(data.hasWaitUntil, "EdgeRuntime.waitUntil missing");
});

Deno.test("verify_jwt: no key or a forged key is refused with 401, the anon key passes", async () => {
  const url = `${stackEnv().SUPABASE_URL}/functions/v1/conformance-echo`;
  const none = await fetch(url, { method: "POST" });
  await none.body?.cancel();
  assert(none.status === 401, `no key: ${none.status}`);
  const forged = await fetch(url, {
    method: "POST",
    headers: { authorization: `Bearer ${stackEnv().SUPABASE_ANON_KEY.slice(0, -4)}AAAA` },
  });
  await forged.body?.cancel();
  assert(forged.status === 401, `forged: ${forged.status}`);
  const { error } = await anonClient().functions.invoke("conformance-echo", { body: {} });
  assert(!error, `anon: ${error}`);
});

Deno.test("an unknown function is 404", async () => {
  const { error } = await serviceClient().functions.invoke("no-such-function", { body: {} });
  assert(error instanceof FunctionsHttpError, `expected http error, got ${error}`);
  assert(error.context.status === 404, `status ${error.context.status}`);
  await error.context.body?.cancel();
});

Deno.test("a crashed function is restarted", async () => {
  const client = serviceClient();
  const before = await client.functions.invoke("conformance-echo", { method: "GET" });
  const { error } = await client.functions.invoke("conformance-echo?crash=1", { method: "GET" });
  if (error instanceof FunctionsHttpError) await error.context.body?.cancel();
  let pid: number | undefined = before.data.pid;
  for (let i = 0; i < 50 && (pid === undefined || pid === before.data.pid); i++) {
    await new Promise((r) => setTimeout(r, 100));
    const after = await client.functions.invoke("conformance-echo", { method: "GET" });
    if (after.error instanceof FunctionsHttpError) await after.error.context.body?.cancel();
    pid = after.data?.pid;
  }
  assert(pid !== undefined && pid !== before.data.pid, "function was not restarted");
});

Deno.test("a function still working past its wall-clock limit is killed", async () => {
  const client = serviceClient();
  const first = await client.functions.invoke("conformance-wall-clock?seconds=30", {
    method: "GET",
  });
  assert(!first.error, `invoke: ${first.error}`);
  const started = Date.now();
  let pid = first.data.pid;
  while (pid === first.data.pid && Date.now() - started < 10_000) {
    await new Promise((r) => setTimeout(r, 200));
    // A short task that finishes in time; answered by the new process once the old one died.
    const next = await client.functions.invoke("conformance-wall-clock?seconds=0", {
      method: "GET",
    });
    pid = next.data?.pid ?? pid;
  }
  const elapsed = (Date.now() - started) / 1000;
  assert(pid !== first.data.pid, "worker was not killed within 10 s");
  assert(elapsed >= 1.5, `killed too early (${elapsed} s; limit 2 s)`);
});

/** Starts `query` on conformance-limits; whether its process was killed within `seconds`. */
async function killedWithin(query: string, seconds: number): Promise<boolean> {
  const client = serviceClient();
  const first = await client.functions.invoke(`conformance-limits?${query}`, { method: "GET" });
  assert(!first.error, `invoke: ${first.error}`);
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 300));
    if (!(await Deno.stat(`/proc/${first.data.pid}`).then(() => true, () => false))) return true;
  }
  return false;
}

Deno.test("memory: a function holding more than 256 MB of array buffers is killed", async () => {
  assert(await killedWithin("alloc_mb=400", 20), "not killed at the memory limit");
});

Deno.test("memory: a function growing its V8 heap past 256 MB is killed", async () => {
  assert(await killedWithin("heap_mb=400", 30), "not killed at the heap limit");
});

Deno.test("memory and CPU: a function within the limits is not killed", async () => {
  // 160 MB held, then 1 s of CPU: both inside the limits; the process survives them.
  assert(!(await killedWithin("alloc_mb=160", 6)), "killed under the memory limit");
  assert(!(await killedWithin("cpu_ms=1000", 6)), "killed under the CPU limit");
});

Deno.test("CPU: a request computing for more than 2 s of CPU time is killed", async () => {
  assert(await killedWithin("cpu_ms=6000", 30), "not killed at the CPU limit");
});
