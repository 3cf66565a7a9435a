/**
 * Integration: on a hosted project (AI_SUBS_HOSTED=1, as `deno task deploy` sets it) with no
 * transcription provider configured, a job fails at once with `needs_provider`: one attempt,
 * no retries, the friendly message of the error code table.
 */
import { makeWav } from "../fakes/deterministic.ts";
import { withFunctionEnv } from "../support/function_processes.ts";
import { tasksOf } from "../support/jobs.ts";
import { assert, submitWav, waitForJob } from "../support/submissions.ts";
import { adminSql, signedInClient } from "../support/stack_env.ts";

Deno.test("hosted with no transcription provider: the job fails at once with needs_provider", async () => {
  const sql = adminSql();
  const restore = await withFunctionEnv(["transcribe"], { AI_SUBS_HOSTED: "1" });
  try {
    const { client, userId } = await signedInClient();
    const job = await submitWav(client, userId, makeWav(5), { language: "en" });
    const done = await waitForJob(client, job.id, 60_000);
    assert(done.status === "failed", `job ${done.status}`);
    assert(done.error_code === "needs_provider", `error ${done.error_code}`);
    const transcribe = (await tasksOf(sql, job.id)).filter((t) => t.step === "transcribe");
    assert(transcribe.length === 1, `${transcribe.length} transcribe tasks`);
    assert(transcribe[0].attempts === 1, `${transcribe[0].attempts} attempts`);
  } finally {
    await restore();
    await sql.end();
  }
});
