import type { Client } from "./supabase_client.ts";
import { ProviderError } from "./providers/errors.ts";
import { runTask, stepHandler } from "./step_runtime.ts";
import type { StepOutput } from "./contract.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

const jobId = crypto.randomUUID();
const taskId = crypto.randomUUID();
const lease = crypto.randomUUID();
const claim = {
  lease,
  task: { id: taskId, job_id: jobId, step: "merge", chunk_index: null, attempt: 1 },
  job: {
    id: jobId,
    owner_id: crypto.randomUUID(),
    filename: "a.mp4",
    media: { path: "x/manifest.json" },
    options: {},
  },
  input: { chunks: [] },
};

/** Records the SQL entry points a run calls; `answers` scripts their replies. */
function fakeSupabase(answers: Record<string, unknown>) {
  const calls: { fn: string; args: Record<string, unknown> }[] = [];
  const client = {
    rpc(fn: string, args: Record<string, unknown>) {
      calls.push({ fn, args });
      return Promise.resolve({ data: fn in answers ? answers[fn] : null, error: null });
    },
  } as unknown as Client;
  return { client, calls };
}

const body = { task_id: taskId, job_id: jobId };
const emptyMerge = (): Promise<StepOutput<"merge">> =>
  Promise.resolve({ transcript: { language: "en", segments: [] } });

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

Deno.test("the HTTP face refuses anyone but the service role and bad bodies", async () => {
  const handler = stepHandler("merge", emptyMerge);
  const anonToken = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.x";
  const anon = await handler(
    new Request("http://x/merge", {
      method: "POST",
      headers: { authorization: `Bearer ${anonToken}` },
      body: JSON.stringify(body),
    }),
  );
  assert(anon.status === 403, `anon: ${anon.status}`);
  const serviceToken = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.x";
  const bad = await handler(
    new Request("http://x/merge", {
      method: "POST",
      headers: { authorization: `Bearer ${serviceToken}` },
      body: JSON.stringify({ task_id: "not-a-uuid" }),
    }),
  );
  assert(bad.status === 400, `bad body: ${bad.status}`);
});
