/**
 * Integration: a 30-minute recording uploaded as ONE file (AAC in M4A, no manifest) through
 * the stack, with the OpenAI-compatible fake as the transcription engine (a fixed latency per
 * chunk stands in for a real provider). prepare probes the file and plans three 10-minute
 * windows; transcribe cuts each by range reads. Proven here: the chunks run in parallel; a
 * function process killed mid-chunk is recovered by the cron tick with no duplicated text; a
 * cancelled job stops; a retried failed job does not redo completed chunks.
 */
import type postgres from "postgres";
import { makeLongAudio } from "../../ship/asr/fixtures.ts";
import { startOpenAiFake } from "../fakes/openai_fake.ts";
import type { FakeServer } from "../fakes/fake_server.ts";
import { killFunction, withFunctionEnv } from "../support/function_processes.ts";
import { eventually, tasksOf } from "../support/jobs.ts";
import {
  assert,
  randomSha256,
  submitAccepted,
  upload,
  waitForJob,
} from "../support/submissions.ts";
import { adminSql, signedInClient } from "../support/stack_env.ts";
import { stackConfig } from "../../stack/config.ts";
import { join } from "node:path";

const MINUTES = 30;
/** The provider's time per chunk (L). */
const LATENCY_MS = 2_500;

interface Word {
  text: string;
  start: number;
}

/** Every word of a transcript, in order. */
function wordsOf(transcript: unknown): Word[] {
  const t = transcript as { segments: { words?: Word[]; text: string; start: number }[] };
  return t.segments.flatMap((s) => s.words ?? [{ text: s.text, start: s.start }]);
}

async function transcriptionCalls(fake: FakeServer): Promise<number> {
  return await Promise.resolve(
    fake.requests.filter((r) => r.path === "/v1/audio/transcriptions").length,
  );
}

Deno.test("a 30-minute single-file recording: parallel chunks, recovery, cancel, retry", async (t) => {
  const sql = adminSql();
  const fake = startOpenAiFake({ latencyMs: LATENCY_MS });
  const [settings] = await sql`select * from private.settings`;
  const restoreEnv = await withFunctionEnv(["transcribe"], {
    TRANSCRIBE_PROVIDER: "openai",
    OPENAI_BASE_URL: fake.url,
  });
  const dir = await Deno.makeTempDir();
  try {
    // A cloud-like engine: no one-chunk cap as for the offline engine (scripts/ship/asr/capacity.ts).
    await sql`update private.settings set per_job_parallelism = 4, global_parallelism = 8,
      backoff_base_seconds = 0.2, step_parallelism = step_parallelism - 'transcribe'`;
    const { client, userId } = await signedInClient();
    await makeLongAudio(MINUTES * 60, "aac", `${dir}/talk.m4a`);
    const bytes = await Deno.readFile(`${dir}/talk.m4a`);
    const path = `${userId}/${crypto.randomUUID()}/talk.m4a`;
    await upload(client, path, bytes, "audio/mp4");
    // A fresh hash per job: the same file submitted again must not be served from the cache.
    const submit = async () =>
      (await submitAccepted(client, {
        filename: "talk.m4a",
        media: { path, bytes: bytes.length, sha256: randomSha256() },
        options: { language: "en" },
      })).id;

    await t.step("prepare plans three windows and they are transcribed in parallel", async () => {
      const job = await submit();
      const done = await waitForJob(client, job, 90_000);
      assert(done.status === "completed", `job ${done.status}: ${done.error_code}`);
      const tasks = await tasksOf(sql, job);
      const prepare = tasks.find((x) => x.step === "prepare")!;
      const plan = prepare.output as { duration: number; chunks: { start: number }[] };
      assert(Math.abs(plan.duration - MINUTES * 60) < 1, `duration ${plan.duration}`);
      assert(plan.chunks.length === 3, `chunks ${plan.chunks.length}`);
      const chunks = tasks.filter((x) => x.step === "transcribe");
      assert(chunks.every((x) => x.status === "completed"), "a chunk did not complete");
      // Parallel: every chunk was claimed before any finished.
      const lastClaim = Math.max(...chunks.map((x) => x.claimed_at!.getTime()));
      const firstDone = Math.min(...chunks.map((x) => x.completed_at!.getTime()));
      assert(lastClaim < firstDone, `claims up to ${lastClaim}, first done ${firstDone}`);
      const span = Math.max(...chunks.map((x) => x.completed_at!.getTime())) -
        Math.min(...chunks.map((x) => x.claimed_at!.getTime()));
      console.log(`3 chunks of L = ${LATENCY_MS} ms took ${span} ms together`);
      assert(span < 3 * LATENCY_MS, `chunks took ${span} ms: one after another`);
    });

    await t.step("a transcribe process killed mid-chunk is recovered by the tick", async () => {
      await sql`update private.settings set stale_after_seconds = 8`;
      const job = await submit();
      await eventually("a chunk running", async () => {
        const tasks = await tasksOf(sql, job);
        return tasks.some((x) => x.step === "transcribe" && x.status === "running");
      });
      await killFunction("transcribe");
      // What pg_cron does every minute, sooner.
      const recovered = await eventually("job completed after ticks", async () => {
        await sql`select public.tick()`;
        const [row] = await sql`select status from public.jobs where id = ${job}`;
        return row.status === "completed" ? row : null;
      }, 90_000);
      assert(recovered, "not recovered");
      const [{ stale }] = await sql`select count(*)::int as stale from private.events
        where job_id = ${job} and detail ->> 'error_code' = 'stale_heartbeat'`;
      assert(stale >= 1, "no chunk was recovered from a stale heartbeat");
      await assertNoDuplicatedText(sql, job);
    });

    await t.step(
      "a cancelled job stops: nothing more is dispatched, running chunks stop",
      async () => {
        await sql`update private.settings set stale_after_seconds = ${settings.stale_after_seconds}`;
        fake.script(
          ...Array.from({ length: 3 }, () => ({ kind: "ok" as const, latencyMs: 12_000 })),
        );
        const job = await submit();
        await eventually("chunks running", async () => {
          const tasks = await tasksOf(sql, job);
          return tasks.filter((x) => x.step === "transcribe" && x.status === "running").length ===
            3;
        });
        const { error } = await client.rpc("cancel_job", { job_id: job });
        assert(!error, `cancel_job: ${error?.message}`);
        const [{ at }] = await sql`select now() as at`;
        // The running chunks learn it at their next heartbeat and stop without completing.
        const log = join(stackConfig().dir, "logs", "daemon.log");
        await eventually("the running chunks stopped", async () => {
          const lines = (await Deno.readTextFile(log)).split("\n")
            .filter((l) => l.includes(job) && l.includes("stopped: job cancelled"));
          return lines.length === 3;
        }, 20_000);
        const tasks = await tasksOf(sql, job);
        assert(tasks.every((x) => x.step !== "merge"), "merge was planned");
        assert(
          tasks.filter((x) => x.step === "transcribe").every((x) => x.status === "cancelled"),
          `chunks ${tasks.map((x) => `${x.step}:${x.status}`)}`,
        );
        const [{ later }] = await sql`select count(*)::int as later from private.events
        where job_id = ${job} and kind = 'task.dispatched' and created_at > ${at}`;
        assert(later === 0, `${later} tasks dispatched after the cancel`);
        const [row] = await sql`select status from public.jobs where id = ${job}`;
        assert(row.status === "cancelled", `job ${row.status}`);
      },
    );

    await t.step("a retried failed job redoes only the chunk that failed", async () => {
      fake.script(
        { kind: "ok", latencyMs: 0 },
        { kind: "ok", latencyMs: 0 },
        { kind: "refused", latencyMs: 1_500 },
      );
      const job = await submit();
      const failed = await waitForJob(client, job, 60_000);
      assert(failed.status === "failed", `job ${failed.status}`);
      assert(failed.error_code === "provider_refused", `code ${failed.error_code}`);
      const before = (await tasksOf(sql, job)).filter((x) => x.step === "transcribe");
      const kept = before.filter((x) => x.status === "completed");
      assert(kept.length === 2, `completed before retry: ${kept.length}`);
      const calls = await transcriptionCalls(fake);

      const { error } = await client.rpc("retry_job", { job_id: job });
      assert(!error, `retry_job: ${error?.message}`);
      const done = await waitForJob(client, job, 60_000);
      assert(done.status === "completed", `after retry ${done.status}: ${done.error_code}`);
      assert(
        (await transcriptionCalls(fake)) - calls === 1,
        `${(await transcriptionCalls(fake)) - calls} chunks transcribed again`,
      );
      const after = (await tasksOf(sql, job)).filter((x) => x.step === "transcribe");
      for (const k of kept) {
        const same = after.find((x) => x.id === k.id)!;
        assert(
          same.completed_at!.getTime() === k.completed_at!.getTime() && same.attempts === 1,
          `chunk ${k.chunk_index} was redone`,
        );
      }
      await assertNoDuplicatedText(sql, job);
    });
  } finally {
    await sql`update private.settings set per_job_parallelism = ${settings.per_job_parallelism},
      global_parallelism = ${settings.global_parallelism},
      stale_after_seconds = ${settings.stale_after_seconds},
      backoff_base_seconds = ${settings.backoff_base_seconds},
      step_parallelism = ${sql.json(settings.step_parallelism)}`;
    await restoreEnv();
    await fake.close();
    await sql.end();
    await Deno.remove(dir, { recursive: true });
  }
});

/** The merged transcript holds each chunk's words once, in time order. */
async function assertNoDuplicatedText(sql: postgres.Sql, job: string) {
  const tasks = await tasksOf(sql, job);
  const chunks = tasks.filter((x) => x.step === "transcribe");
  assert(chunks.length === 3 && chunks.every((x) => x.status === "completed"), "chunks");
  const merged = wordsOf(
    (tasks.find((x) => x.step === "merge")!.output as {
      transcript: unknown;
    }).transcript,
  );
  const perChunk = chunks.reduce(
    (n, x) => n + wordsOf((x.output as { transcript: unknown }).transcript).length,
    0,
  );
  assert(merged.length > 0 && merged.length <= perChunk, `${merged.length} of ${perChunk}`);
  for (let i = 1; i < merged.length; i++) {
    assert(
      merged[i].start > merged[i - 1].start,
      `word ${i} "${merged[i].text}" at ${merged[i].start} repeats or goes back in time`,
    );
  }
}
