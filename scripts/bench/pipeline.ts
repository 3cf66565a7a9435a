/**
 * step_overhead: what the engine costs per step when the provider costs nothing. The step
 * functions transcribe with the bench's fake at zero latency, so a step's time is all
 * orchestration: planning, dispatch through pg_net, the function's claim, its Storage reads,
 * its checkpoint (complete_task) and the planning of the next step. Per task the overhead is
 * its completion minus the moment it became ready (its predecessors' last completion, or the
 * job's insert for `prepare`), all on the database clock; the steps of a 1-chunk job are
 * prepare, transcribe, merge and render.
 *
 * pipeline_jobs_per_min: throughput of 1-chunk jobs submitted at once, with the active-job
 * limit raised for the run (global parallelism stays at its default).
 */
import { adminSql } from "../testing/stack_env.ts";
import {
  assertProviderUsed,
  prepareUploads,
  requireProvider,
  submitJob,
  waitForJobs,
  withSettings,
} from "./job_fixtures.ts";
import { median, percentile, round, RunFigures } from "./statistics.ts";
import type { BenchSuite } from "./suite.ts";

export const pipeline: BenchSuite = {
  name: "pipeline",
  async run(ctx) {
    const provider = requireProvider(ctx.provider);
    const sql = adminSql();
    const jobsPerRun = ctx.quick ? 5 : 10;
    const burst = ctx.quick ? 12 : 30;
    const runs = new RunFigures();
    const byStep = new Map<string, number[]>();
    let parallelism = 0;
    try {
      const uploads = await prepareUploads();
      await withSettings(sql, { active_job_limit: 1000 }, async () => {
        [{ parallelism }] = await sql<{ parallelism: number }[]>`
          select global_parallelism as parallelism from private.settings`;
        await waitForJobs(sql, [await submitJob(uploads, 1)]); // warm-up
        for (let run = 0; run < ctx.runs; run++) {
          const before = provider.requests.length;
          const ids: string[] = [];
          for (let i = 0; i < jobsPerRun; i++) {
            const id = await submitJob(uploads, 1);
            await waitForJobs(sql, [id]);
            ids.push(id);
          }
          assertProviderUsed(provider, before, jobsPerRun);
          const rows = await sql<{ step: string; ms: number }[]>`
            select t.step, extract(epoch from t.completed_at - coalesce(
              (select max(p.completed_at) from private.tasks p
               where p.job_id = t.job_id and p.step = any(s.after)), j.created_at)) * 1000 as ms
            from private.tasks t
            join public.jobs j on j.id = t.job_id
            join private.steps s on s.step = t.step
            where t.job_id = any(${ids}::uuid[])`;
          const samples = rows.map((r) => Number(r.ms));
          for (const r of rows) byStep.set(r.step, [...(byStep.get(r.step) ?? []), Number(r.ms)]);
          runs.add("step_overhead_p50_ms", percentile(samples, 50));
          runs.add("step_overhead_p95_ms", percentile(samples, 95));

          const burstIds = await Promise.all(
            Array.from({ length: burst }, () => submitJob(uploads, 1)),
          );
          await waitForJobs(sql, burstIds, 300_000);
          const [{ seconds }] = await sql<{ seconds: number }[]>`
            select extract(epoch from max(completed_at) - min(created_at)) as seconds
            from public.jobs where id = any(${burstIds}::uuid[])`;
          runs.add("pipeline_jobs_per_min", (burst / Number(seconds)) * 60);
          ctx.log(
            `run ${run + 1}: step p50 ${round(percentile(samples, 50))} ms, ` +
              `${burst} jobs in ${round(Number(seconds))} s`,
          );
        }
      });
    } finally {
      await sql.end();
    }
    const perStep = [...byStep].map(([step, ms]) => `${step} ${round(median(ms))} ms`).join(", ");
    return {
      ...runs.result(),
      targets: { step_overhead_p50_ms: "≤ 30 ms" },
      notes: [
        `step_overhead: ${ctx.runs} runs × ${jobsPerRun} one-chunk jobs (4 steps each), provider ` +
        `latency 0; per task: completion − ready (predecessors' completion or the insert). ` +
        `Median by step: ${perStep}.`,
        `pipeline_jobs_per_min: ${burst} one-chunk jobs inserted at once per run, active-job ` +
        `limit raised to 1000 (restored after), global_parallelism ${parallelism}; first insert ` +
        `→ last completion.`,
      ],
    };
  },
};
