/**
 * Integration: a step function killed at the memory limit (as a hosted worker over 256 MB is)
 * recovers through the normal path — its lease goes stale, the tick gives the task back, and
 * the next attempt completes the job. The test lowers transcribe's limit to 40 MB through the
 * stack's functions.env (STACK_FUNCTION_MEMORY_MB): an idle process uses about 22 MB, so the
 * step is claimed, and then reading a 590 s recording of 16 kHz PCM (19 MB, held twice while
 * the WAV is built) takes it over; then the real limit is restored.
 */
import { makeWav } from "../fakes/deterministic.ts";
import { startOpenAiFake } from "../fakes/openai_fake.ts";
import { functionPid, withFunctionEnv } from "../support/function_processes.ts";
import { eventually, tasksOf } from "../support/jobs.ts";
import { assert, submitWav } from "../support/submissions.ts";
import { adminSql, signedInClient } from "../support/stack_env.ts";

Deno.test("a transcribe process killed at the memory limit is recovered by the tick", async () => {
  const sql = adminSql();
  const fake = startOpenAiFake({ latencyMs: 500 });
  const [settings] =
    await sql`select stale_after_seconds, backoff_base_seconds from private.settings`;
  const provider = { TRANSCRIBE_PROVIDER: "openai", OPENAI_BASE_URL: fake.url };
  let restore = await withFunctionEnv(["transcribe"], {
    ...provider,
    STACK_FUNCTION_MEMORY_MB: "40",
  });
  try {
    await sql`update private.settings set stale_after_seconds = 8, backoff_base_seconds = 0.2`;
    const { client, userId } = await signedInClient();
    const before = await functionPid("transcribe");
    // 590 s of 16 kHz mono: 19 MB, one window.
    const job = await submitWav(client, userId, makeWav(590, 16_000), { language: "en" });
    // The first attempt is claimed and its process dies over the limit.
    await eventually("transcribe killed over its memory limit", async () => {
      const tasks = await tasksOf(sql, job.id);
      const claimed = tasks.some((t) => t.step === "transcribe" && t.status === "running");
      return claimed && (await functionPid("transcribe")) !== before;
    }, 60_000);
    // The real limit back; what pg_cron does every minute, sooner.
    await restore();
    restore = await withFunctionEnv(["transcribe"], provider);
    const done = await eventually("job completed after ticks", async () => {
      await sql`select public.tick()`;
      const [row] = await sql`select status, error_code from public.jobs where id = ${job.id}`;
      return row.status === "completed" || row.status === "failed" ? row : null;
    }, 90_000);
    assert(done?.status === "completed", `job ${done?.status}: ${done?.error_code}`);
    const [{ stale }] = await sql`select count(*)::int as stale from private.events
      where job_id = ${job.id} and detail ->> 'error_code' = 'stale_heartbeat'`;
    assert(stale >= 1, "the killed attempt was not recovered from a stale heartbeat");
  } finally {
    await sql`update private.settings set stale_after_seconds = ${settings.stale_after_seconds},
      backoff_base_seconds = ${settings.backoff_base_seconds}`;
    await restore();
    await fake.close();
    await sql.end();
  }
});
