/**
 * Conformance: every function runs in a sandbox that grants what Supabase's Edge Runtime grants a
 * user worker (scripts/stack/function_sandbox.ts): network, its env vars, its own bundle, /tmp —
 * no subprocesses, no native libraries, no other files; and a function whose own deno.json
 * does not map an import fails to start with the platform's 503 BOOT_ERROR. Stack-only: the
 * probes are test-only functions of scripts/tests/conformance/functions.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { stackConfig } from "../../stack/config.ts";
import { functionNames } from "../../ship/function_imports.ts";
import { apiKeys, stackEnv } from "../support/stack_env.ts";

type Outcome = { ok: boolean; error?: string; detail?: unknown };

const probeDir = join(
  stackConfig().root,
  "scripts/tests/conformance/functions/conformance-sandbox",
);

async function probe(name: string, params: Record<string, string> = {}): Promise<Outcome> {
  const query = new URLSearchParams({ probe: name, ...params });
  const res = await fetch(`${stackEnv().SUPABASE_URL}/functions/v1/conformance-sandbox?${query}`, {
    headers: { apikey: apiKeys().secret },
  });
  const body = await res.json();
  assert.equal(res.status, 200, `probe ${name}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** What the runtime answers when it refuses: Deno 2's NotCapable (PermissionDenied before). */
function refused(outcome: Outcome, what: string) {
  assert(!outcome.ok, `${what} was allowed`);
  assert(
    outcome.error === "NotCapable" || outcome.error === "PermissionDenied",
    `${what} failed with ${outcome.error} (${outcome.detail}), not a permission error`,
  );
}

Deno.test("sandbox: a function cannot spawn a process or load a native library", async () => {
  refused(await probe("spawn"), "Deno.Command");
  refused(await probe("ffi"), "Deno.dlopen");
});

Deno.test("sandbox: a function writes in its own temp folder, and nowhere else", async () => {
  const tmp = await probe("tmp");
  assert(tmp.ok, `TMPDIR: ${tmp.error} ${tmp.detail}`);
  const home = Deno.env.get("HOME") ?? "/root";
  const outside = [
    // Another process's corner of the shared /tmp (hosted, a worker's /tmp is its own).
    `/tmp/sandbox-probe-${crypto.randomUUID()}`,
    join(stackConfig().dir, `sandbox-probe-${crypto.randomUUID()}`),
    join(home, `sandbox-probe-${crypto.randomUUID()}`),
  ];
  try {
    refused(await probe("write_bundle"), "a write into its own bundle");
    for (const path of outside) refused(await probe("write", { path }), `a write to ${path}`);
  } finally {
    // Only there when the sandbox let the write through.
    for (const path of [...outside, join(probeDir, "written.txt")]) {
      await Deno.remove(path).catch(() => {});
    }
  }
});

Deno.test("sandbox: a function reads its own bundle, and no other file", async () => {
  const own = await probe("read_bundle");
  assert(own.ok, `its own source: ${own.error} ${own.detail}`);
  // The stack's env file holds the project's keys and the database password.
  for (const path of [join(stackConfig().dir, "env"), join(stackConfig().root, "deno.json")]) {
    refused(await probe("read", { path }), `a read of ${path}`);
  }
});

Deno.test("sandbox: a function gets its env vars, not the stack's environment", async () => {
  const env = await probe("env");
  assert(env.ok, `env: ${env.error}`);
  const { names, path } = env.detail as { names: string[]; path?: string };
  for (const name of ["SUPABASE_URL", "SUPABASE_SECRET_KEYS", "SUPABASE_DB_URL"]) {
    assert(names.includes(name), `${name} missing`);
  }
  const leaked = names.filter((n) => n === "HOME" || n.startsWith("STACK_"));
  assert.deepEqual(leaked, [], `the stack's own environment reached the function`);
  // Deno sets a PATH of its own (its Node shims) in every process it runs; the stack's is not it.
  assert(path !== Deno.env.get("PATH"), `the stack's PATH reached the function: ${path}`);
});

Deno.test("a function importing a package its own deno.json does not map is 503 BOOT_ERROR", async () => {
  const started = Date.now();
  const res = await fetch(`${stackEnv().SUPABASE_URL}/functions/v1/conformance-unmapped-import`, {
    headers: { apikey: apiKeys().secret },
  });
  const body = await res.json();
  assert.equal(res.status, 503, `status ${res.status}: ${JSON.stringify(body)}`);
  assert.deepEqual(body, {
    code: "BOOT_ERROR",
    message: "Function failed to start (please check logs)",
  });
  // The platform answers as soon as the boot fails; the stack must not make the caller wait.
  assert(Date.now() - started < 10_000, `answered after ${Date.now() - started} ms`);
});

Deno.test("every function of supabase/functions boots in the sandbox and serves", async () => {
  for (const name of await functionNames()) {
    // Every function refuses a GET with 405: an answer from its own code.
    const res = await fetch(`${stackEnv().SUPABASE_URL}/functions/v1/${name}`, {
      headers: { apikey: apiKeys().secret },
    });
    const text = await res.text();
    assert.equal(res.status, 405, `${name}: ${res.status} ${text}`);
  }
});
