/**
 * parallel_speedup_60min: a 60-minute recording (manifest of 6 ten-minute chunks) whose every
 * transcription takes the scripted provider latency L, run once with per-job parallelism 1
 * (sequential) and once with 6; speedup = sequential time / parallel time (insert → job
 * completed, database clock). Issue 4 asks for parallel ≤ 3·L + 5 s.
 */
import { adminSql } from "../tests/support/stack_env.ts";
import {
  assertProviderUsed,
  prepareUploads,
  requireProvider,
  submitJob,
  UNTIL_COMPLETED,
  withSettings,
} from "./job_fixtures.ts";
import { waitForJobs } from "../tests/support/submissions.ts";
import { round, RunFigures } from "./statistics.ts";
import type { BenchSuite } from "./suite.ts";

const CHUNKS = 6;

export const parallel: BenchSuite = {
  name: "parallel",
  async run(ctx) {
    const provider = requireProvider(ctx.provider);
    const latencyMs = ctx.quick ? 1500 : 5000;
    const sql = adminSql();
    const runs = new RunFigures();
    try {
      const uploads = await prepareUploads();
      const timeJob = async (perJob: number): Promise<number> =>
        await withSettings(
          sql,
          { per_job_parallelism: perJob, active_job_limit: 1000, per_user_active_limit: 1000 },
          async () => {
            const before = provider.requests.length;
            provider.script(
              ...Array.from({ length: CHUNKS }, () => ({ kind: "ok" as const, latencyMs })),
            );
            const id = await submitJob(uploads, CHUNKS);
            await waitForJobs(sql, [id], {
              ...UNTIL_COMPLETED,
              timeoutMs: 20 * latencyMs + 60_000,
            });
            assertProviderUsed(provider, before, CHUNKS);
            if (provider.pending !== 0) throw new Error("scripted latencies were not all used");
            const [{ seconds }] = await sql<{ seconds: number }[]>`
            select extract(epoch from completed_at - created_at) as seconds
            from public.jobs where id = ${id}`;
            return Number(seconds);
          },
        );
      for (let run = 0; run < ctx.runs; run++) {
        const sequential = await timeJob(1);
        const parallelSeconds = await timeJob(CHUNKS);
        runs.add("sequential_60min_s", sequential);
        runs.add("parallel_60min_s", parallelSeconds);
        runs.add("parallel_speedup_60min", sequential / parallelSeconds);
        ctx.log(
          `run ${run + 1}: sequential ${round(sequential)} s, parallel ${round(parallelSeconds)} s`,
        );
      }
    } finally {
      await sql.end();
    }
    const result = runs.result();
    return {
      ...result,
      figures: { ...result.figures, provider_latency_l_s: latencyMs / 1000 },
      targets: {
        parallel_speedup_60min: "≥ 4",
        parallel_60min_s: `≤ ${round(3 * latencyMs / 1000 + 5)} s`,
      },
      notes: [
        `parallel: 60-minute manifest of ${CHUNKS} × 600 s chunks (each a 2 s AAC file), ` +
        `provider latency L = ${latencyMs / 1000} s per chunk; per_job_parallelism 1 vs ` +
        `${CHUNKS} (restored after); time = insert → job completed. Issue 4: parallel ≤ 3·L + 5 s.`,
      ],
    };
  },
};
