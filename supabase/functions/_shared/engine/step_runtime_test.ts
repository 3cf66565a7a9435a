import assert from "node:assert/strict";
import type { Client } from "./supabase_client.ts";
import { ProviderError } from "../providers/errors.ts";
import { runTask, stepHandler, type TaskDeps } from "./step_runtime.ts";
import type { StepOutput } from "./contract.ts";

const jobId = crypto.randomUUID();
const taskId = crypto.randomUUID();
const lease = crypto.randomUUID();
const claim = {
  lease,
  heartbeat_seconds: 5,
  max_media_seconds: 14400,
  task: { id: taskId, job_id: jobId, step: "merge", chunk_index: null, attempt: 1 },
  job: {
    id: jobId,
    owner_id: crypto.randomUUID(),
    filename: "a.mp4",
    media: { path: "x/manifest.json" },
    options: {},
  },
  input: { transcribe: [] },
};

/** Records the SQL entry points a run calls; `answers` scripts their replies. */
function fakeSupabase(answers: Record<string, unknown>) {
  const calls: { fn: string; args: Record<string, unknown> }[] = [];
  const client: TaskDeps = {
    engine: {
      call(fn, args) {
        calls.push({ fn, args: args as Record<string, unknown> });
        return Promise.resolve(fn in answers ? answers[fn] : null);
      },
    },
    supabase: {} as Client,
  };
  return { client, calls };
}

const body = { task_id: taskId, job_id: jobId };
const emptyMerge = (): Promise<StepOutput<"merge">> =>
  Promise.resolve({
    transcript: { language: "en", segments: [] },
    translate_parts: [],
    summary_parts: [],
  });

Deno.test("a duplicate or late delivery (nothing to claim) does nothing", async () => {
  const { client, calls } = fakeSupabase({ claim_task: null });
  let ran = false;
  const outcome = await runTask(
    "merge",
    () => {
      ran = true;
      return emptyMerge();
    },
    body,
    client,
  );
  assert(outcome === "not_claimed" && !ran, `outcome ${outcome}, ran ${ran}`);
  assert(calls.map((c) => c.fn).join() === "claim_task", `calls ${calls.map((c) => c.fn)}`);
});

Deno.test("a claimed task completes with its validated output and its lease", async () => {
  const { client, calls } = fakeSupabase({ claim_task: claim, complete_task: { ok: true } });
  const outcome = await runTask("merge", emptyMerge, body, client);
  assert(outcome === "done", `outcome ${outcome}`);
  const complete = calls.find((c) => c.fn === "complete_task");
  assert(complete?.args.lease === lease && complete.args.task_id === taskId, "complete args");
});

Deno.test("a completion refused for a lost lease is not reported as completed", async () => {
  const { client, calls } = fakeSupabase({
    claim_task: claim,
    complete_task: { ok: false, reason: "stale_lease" },
  });
  const outcome = await runTask("merge", emptyMerge, body, client);
  assert(outcome === "cancelled", `outcome ${outcome}`);
  assert(!calls.some((c) => c.fn === "fail_task"), "a lost lease must not fail the task");
});

Deno.test("a completion the engine refused as malformed is a failure", async () => {
  const { client } = fakeSupabase({
    claim_task: claim,
    complete_task: { ok: false, reason: "malformed_output", failure: { retrying: true } },
  });
  const outcome = await runTask("merge", emptyMerge, body, client);
  assert(outcome === "failed", `outcome ${outcome}`);
});

Deno.test("the heartbeat runs at the engine's heartbeat_seconds", async () => {
  const { client, calls } = fakeSupabase({
    claim_task: { ...claim, heartbeat_seconds: 0.05 },
    heartbeat_task: { continue: true },
    complete_task: { ok: true },
  });
  const outcome = await runTask(
    "merge",
    () => new Promise((resolve) => setTimeout(() => resolve(emptyMerge()), 300)),
    body,
    client,
  );
  assert(outcome === "done", `outcome ${outcome}`);
  const beats = calls.filter((c) => c.fn === "heartbeat_task").length;
  assert(beats >= 3, `${beats} heartbeats in 300 ms at 50 ms`);
});

Deno.test("a provider's 429 fails the task as retryable with its delay and code", async () => {
  const { client, calls } = fakeSupabase({ claim_task: claim, fail_task: {} });
  const outcome = await runTask(
    "merge",
    () => {
      throw new ProviderError("rate_limited", "slow down", { retryAfterMs: 7000 });
    },
    body,
    client,
  );
  assert(outcome === "failed", `outcome ${outcome}`);
  const fail = calls.find((c) => c.fn === "fail_task")!;
  assert(fail.args.error_code === "rate_limited" && fail.args.retryable === true, "classification");
  assert(fail.args.retry_after_ms === 7000, `retry_after_ms ${fail.args.retry_after_ms}`);
});

Deno.test("output that breaks the contract is not completed", async () => {
  const { client, calls } = fakeSupabase({ claim_task: claim, fail_task: {} });
  await runTask(
    "merge",
    () => Promise.resolve({ transcript: { segments: "nope" } } as unknown as StepOutput<"merge">),
    body,
    client,
  );
  assert(!calls.some((c) => c.fn === "complete_task"), "invalid output was completed");
  assert(
    calls.some((c) => c.fn === "fail_task" && c.args.error_code === "malformed_output"),
    "no fail",
  );
});

const SECRET = "sb_secret_unit_test_key_000000000000";
Deno.env.set("SUPABASE_URL", "http://127.0.0.1:9");
Deno.env.set("SUPABASE_SECRET_KEYS", JSON.stringify({ default: SECRET }));
Deno.env.set("SUPABASE_PUBLISHABLE_KEYS", JSON.stringify({ default: "sb_publishable_unit" }));

Deno.test("the HTTP face refuses anyone without the secret key, and bad bodies", async () => {
  const handler = stepHandler("merge", emptyMerge);
  const post = (headers: Record<string, string>, payload: unknown = { task_id: "not-a-uuid" }) =>
    handler(
      new Request("http://x/merge", { method: "POST", headers, body: JSON.stringify(payload) }),
    );
  const serviceJwt = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.x";
  for (
    const [who, headers] of [
      ["nobody", {}],
      ["the publishable key", { apikey: "sb_publishable_unit" }],
      ["a service_role JWT", { authorization: `Bearer ${serviceJwt}` }],
      ["the secret key as bearer only", { authorization: `Bearer ${SECRET}` }],
      ["a near-miss secret", { apikey: `${SECRET}x` }],
    ] as const
  ) {
    const res = await post(headers);
    assert(res.status === 401, `${who}: ${res.status}`);
  }
  const bad = await post({ apikey: SECRET });
  assert(bad.status === 400, `bad body: ${bad.status}`);
  const get = await handler(new Request("http://x/merge", { headers: { apikey: SECRET } }));
  assert(get.status === 405, `GET: ${get.status}`);
});

Deno.test("a task of a contract version this function does not know is handed back, never run or failed", async () => {
  const newer = {
    ...claim,
    task: { ...claim.task, contract: 2 },
    // A later contract may change any shape; none of it is read.
    input: { merge_v2: "whatever" },
  };
  const { client, calls } = fakeSupabase({ claim_task: newer, release_task: { ok: true } });
  let ran = false;
  const outcome = await runTask(
    "merge",
    () => {
      ran = true;
      return emptyMerge();
    },
    body,
    client,
  );
  assert(outcome === "released" && !ran, `outcome ${outcome}, ran ${ran}`);
  assert(
    calls.map((c) => c.fn).join() === "claim_task,release_task",
    `calls ${calls.map((c) => c.fn)}`,
  );
  const release = calls[1].args;
  assert(release.task_id === taskId && release.lease === lease, "released with its lease");
  assert(String(release.reason).includes("contract version 2"), `reason ${release.reason}`);
});

Deno.test("a task with no contract version is version 1, and version 1 runs", async () => {
  for (const task of [claim.task, { ...claim.task, contract: 1 }]) {
    const { client, calls } = fakeSupabase({
      claim_task: { ...claim, task },
      complete_task: { ok: true },
    });
    const outcome = await runTask("merge", emptyMerge, body, client);
    assert(outcome === "done", `outcome ${outcome} for ${JSON.stringify(task)}`);
    assert(!calls.some((c) => c.fn === "release_task"), "a known contract is not released");
  }
});
