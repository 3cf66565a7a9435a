/**
 * Conformance: /functions/v1 — served through supabase-js `functions.invoke`, with Supabase's
 * env vars (the keys as on hosted), verify_jwt, the gateway's key handling, restart after a
 * crash and the kills at the hosted limits (wall clock, memory, CPU;
 * supabase/functions/_shared/engine/limits.ts). Stack-only: the
 * functions under scripts/tests/conformance/functions are served by the test stack, never deployed.
 */
import assert from "node:assert/strict";
import { FunctionsHttpError } from "@supabase/supabase-js";
import {
  apiKeys,
  legacyKeys,
  serviceClient,
  signedInClient,
  signedInUser,
  stackEnv,
} from "../support/stack_env.ts";

Deno.test("a function gets Supabase's env vars, EdgeRuntime.waitUntil and the request", async () => {
  const { data, error } = await serviceClient().functions.invoke("conformance-open", {
    body: { hello: "world" },
  });
  assert(!error, `invoke failed: ${error}`);
  assert(data.method === "POST", `method ${data.method}`);
  assert(JSON.parse(data.body).hello === "world", `body ${data.body}`);
  for (const name of ["SUPABASE_URL", "SUPABASE_PUBLISHABLE_KEYS", "SUPABASE_SECRET_KEYS"]) {
    assert(data.env[name], `${name} missing`);
  }
  assert(data.env.SUPABASE_JWKS && data.env.SUPABASE_DB_URL, "SUPABASE_JWKS / DB_URL missing");
  // The legacy names only on a project that still has its legacy keys.
  for (const name of ["SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY"]) {
    assert(data.env[name] === legacyKeys(), `${name} present=${data.env[name]}`);
  }
  assert(
    data.publishableKeys.default === stackEnv().SUPABASE_PUBLISHABLE_KEY,
    `SUPABASE_PUBLISHABLE_KEYS ${JSON.stringify(data.publishableKeys)}`,
  );
  assert(
    data.secretKeyNames.join() === "default" && data.secretKeyPrefixes[0] === "sb_secret_",
    `SUPABASE_SECRET_KEYS names ${data.secretKeyNames}`,
  );
  assert(data.hasWaitUntil, "EdgeRuntime.waitUntil missing");
});

Deno.test("verify_jwt: no JWT, a forged one or an API key as bearer is 401; a user passes", async () => {
  const url = `${stackEnv().SUPABASE_URL}/functions/v1/conformance-echo`;
  const keys = apiKeys();
  const forged = `${(await signedInUser()).token.slice(0, -4)}AAAA`;
  for (
    const [who, headers] of [
      ["no key", {}],
      ["the publishable key alone", { apikey: keys.publishable }],
      ["a forged JWT", { apikey: keys.publishable, authorization: `Bearer ${forged}` }],
      ["the secret key as bearer", {
        apikey: stackEnv().SUPABASE_SECRET_KEY,
        authorization: `Bearer ${stackEnv().SUPABASE_SECRET_KEY}`,
      }],
    ] as const
  ) {
    const res = await fetch(url, { method: "POST", headers });
    await res.body?.cancel();
    assert(res.status === 401, `${who}: ${res.status}`);
  }
  const { client } = await signedInClient();
  const { error } = await client.functions.invoke("conformance-echo", { body: {} });
  assert(!error, `a signed-in user: ${error}`);
});

Deno.test("without verify_jwt: a key-only call reaches the function with a JWT of the key's role", async () => {
  const keys = apiKeys();
  for (const [key, role] of [[keys.publishable, "anon"], [keys.secret, "service_role"]]) {
    const res = await fetch(`${stackEnv().SUPABASE_URL}/functions/v1/conformance-open`, {
      method: "POST",
      headers: { apikey: key },
    });
    const data = await res.json();
    assert(res.status === 200, `${role}: ${res.status}`);
    const bearer = String(data.authorization).replace(/^Bearer /, "");
    const claims = JSON.parse(atob(bearer.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    assert(claims.role === role, `${role}: the function got role ${claims.role}`);
  }
  const unknown = await fetch(`${stackEnv().SUPABASE_URL}/functions/v1/conformance-open`, {
    method: "POST",
    headers: { apikey: "sb_publishable_not_this_projects_key_0000" },
  });
  await unknown.body?.cancel();
  assert(unknown.status === 401, `an unknown apikey: ${unknown.status}`);
  // No apikey at all (a webhook) passes untouched: the function decides.
  const bare = await fetch(`${stackEnv().SUPABASE_URL}/functions/v1/conformance-open`, {
    method: "POST",
  });
  const bareData = await bare.json();
  assert(bare.status === 200 && bareData.authorization === null, `bare: ${bare.status}`);
});

Deno.test("an unknown function is 404", async () => {
  const { error } = await serviceClient().functions.invoke("no-such-function", { body: {} });
  assert(error instanceof FunctionsHttpError, `expected http error, got ${error}`);
  assert(error.context.status === 404, `status ${error.context.status}`);
  await error.context.body?.cancel();
});

Deno.test("a crashed function is restarted", async () => {
  const client = serviceClient();
  const before = await client.functions.invoke("conformance-open", { method: "GET" });
  const { error } = await client.functions.invoke("conformance-open?crash=1", { method: "GET" });
  if (error instanceof FunctionsHttpError) await error.context.body?.cancel();
  let pid: number | undefined = before.data.pid;
  for (let i = 0; i < 50 && (pid === undefined || pid === before.data.pid); i++) {
    await new Promise((r) => setTimeout(r, 100));
    const after = await client.functions.invoke("conformance-open", { method: "GET" });
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
