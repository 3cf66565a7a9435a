/**
 * step_overhead: what the engine costs per step when the provider costs nothing. The step
 * functions transcribe with the bench's fake at zero latency, so a step's time is all
 * orchestration: planning, dispatch through pg_net, the function's claim, its Storage reads,
 * its checkpoint (complete_task) and the planning of the next step. Per task the overhead is
 * its completion minus the moment it became ready (its predecessors' last completion, or the
 * job's insert for `prepare`), all on the database clock; the steps of a 1-chunk job are
 * prepare, transcribe, merge and render.
 *
 * step_orchestration: the same per task without the handler's own time (its Storage reads of a
 * real 10-minute chunk, the request to the fake provider): what the issue calls orchestration
 * (plan, dispatch, delivery, claim, complete).
 *
 * The breakdown (median per phase over the same tasks): from the database clock, ready →
 * dispatched_at (planning and net.http_post inside the transaction that made the task ready)
 * and the claim; from the "completed" log line of the step runtime (timings: received_at,
 * claim_ms, handler_ms, complete_ms; read from the stack's daemon.log) the moment the function
 * got the request and the handler's own time. Phases: plan+dispatch (ready → dispatched_at),
 * delivery (dispatched_at → request received: rest of the transaction, commit, the net
 * worker's wake-up, HTTP through the gateway), claim (received → claimed_at: claim_task, called
 * on Postgres directly by the step runtime, _shared/engine/sql.ts), handler (the step's own work, Storage reads included), complete
 * (the rest until completed_at: the claim's answer, input/output validation, the
 * complete_task call up to its UPDATE).
 *
 * pipeline_jobs_per_min: throughput of 1-chunk jobs submitted at once, with the active-job
 * limit raised for the run (global parallelism stays at its default). tasks_per_s: the tasks
 * of that burst (4 per job) over the same time.
 */

interface Timings {
  received_at: number;
  claim_ms: number;
  handler_ms: number;
  complete_ms: number;
}

/** The step runtime's "completed" timings by task id, from the stack's function logs. */
async function functionTimings(): Promise<Map<string, Timings>> {
  const out = new Map<string, Timings>();
  const text = await Deno.readTextFile(join(stackConfig().dir, "logs", "daemon.log")).catch(
    () => "",
  );
  for (const line of text.split("\n")) {
    if (!line.includes('"completed"') || !line.includes('"timings"')) continue;
    try {
      const entry = JSON.parse(line.slice(line.indexOf("{")));
      if (entry.msg === "completed" && entry.timings) out.set(entry.task_id, entry.timings);
    } catch {
      // not a log line of a step
    }
  }
  return out;
}
import { stackConfig } from "../stack/config.ts";
import { join } from "node:path";
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
    const handlerByStep = new Map<string, number[]>();
    const phases = new Map<string, number[]>();
    const addPhase = (name: string, ms: number) =>
      phases.set(name, [...(phases.get(name) ?? []), ms]);
    let breakdownTasks = 0;
    let sqlFunctions: { name: string; calls: number; total: number; self: number }[] = [];
    let parallelism = 0;
    try {
      const uploads = await prepareUploads();
      // Time spent inside each SQL function (pg_stat_user_functions), for the breakdown. Only
      // on the stack this bench started (ctx.provider), which is removed afterwards.
      await sql`alter system set track_functions = 'pl'`;
      await sql`select pg_reload_conf()`;
      await sql`select pg_stat_reset()`;
      await withSettings(sql, { active_job_limit: 1000, per_user_active_limit: 1000 }, async () => {
        [{ parallelism }] = await sql<{ parallelism: number }[]>`
          select global_parallelism as parallelism from private.settings`;
        await waitForJobs(sql, [await submitJob(uploads, 1)], UNTIL_COMPLETED); // warm-up
        for (let run = 0; run < ctx.runs; run++) {
          const before = provider.requests.length;
          const ids: string[] = [];
          await sql`select pg_stat_reset()`;
          for (let i = 0; i < jobsPerRun; i++) {
            const id = await submitJob(uploads, 1);
            await waitForJobs(sql, [id], UNTIL_COMPLETED);
            ids.push(id);
          }
          assertProviderUsed(provider, before, jobsPerRun);
          const rows = await sql<
            {
              id: string;
              step: string;
              ms: number;
              ready: number;
              dispatched: number;
              claimed: number;
              completed: number;
            }[]
          >`
            with r as (
              select t.id, t.step, t.dispatched_at, t.claimed_at, t.completed_at, coalesce(
                (select max(p.completed_at) from private.tasks p
                 where p.job_id = t.job_id and p.step = any(s.after)), j.created_at) as ready
              from private.tasks t
              join public.jobs j on j.id = t.job_id
              join private.steps s on s.step = t.step
              where t.job_id = any(${ids}::uuid[]))
            select id, step, extract(epoch from completed_at - ready) * 1000 as ms,
                   extract(epoch from ready) * 1000 as ready,
                   extract(epoch from dispatched_at) * 1000 as dispatched,
                   extract(epoch from claimed_at) * 1000 as claimed,
                   extract(epoch from completed_at) * 1000 as completed
            from r`;
          const timings = await functionTimings();
          const orchestration: number[] = [];
          for (const r of rows) {
            const t = timings.get(r.id);
            addPhase("plan+dispatch", Number(r.dispatched) - Number(r.ready));
            if (!t) continue;
            breakdownTasks++;
            addPhase("delivery", t.received_at - Number(r.dispatched));
            addPhase("claim", Number(r.claimed) - t.received_at);
            addPhase("handler", t.handler_ms);
            handlerByStep.set(r.step, [...(handlerByStep.get(r.step) ?? []), t.handler_ms]);
            orchestration.push(Number(r.ms) - t.handler_ms);
            addPhase("complete", Number(r.completed) - Number(r.claimed) - t.handler_ms);
          }
          if (run === ctx.runs - 1) {
            // Of the last run's one-at-a-time jobs only (the burst comes after): SQL time per call.
            await new Promise((r) => setTimeout(r, 600)); // statistics are flushed every 500 ms
            sqlFunctions = await sql<
              { name: string; calls: number; total: number; self: number }[]
            >`
              select schemaname || '.' || funcname as name, calls::int,
                     total_time / calls as total, self_time / calls as self
              from pg_stat_user_functions
              where calls > 0
              order by total_time desc limit 20`;
          }
          const samples = rows.map((r) => Number(r.ms));
          for (const r of rows) byStep.set(r.step, [...(byStep.get(r.step) ?? []), Number(r.ms)]);
          runs.add("step_overhead_p50_ms", percentile(samples, 50));
          runs.add("step_overhead_p95_ms", percentile(samples, 95));
          if (orchestration.length) {
            runs.add("step_orchestration_p50_ms", percentile(orchestration, 50));
          }

          const burstIds = await Promise.all(
            Array.from({ length: burst }, () => submitJob(uploads, 1)),
          );
          await waitForJobs(sql, burstIds, { ...UNTIL_COMPLETED, timeoutMs: 300_000 });
          const [{ seconds }] = await sql<{ seconds: number }[]>`
            select extract(epoch from max(completed_at) - min(created_at)) as seconds
            from public.jobs where id = any(${burstIds}::uuid[])`;
          runs.add("pipeline_jobs_per_min", (burst / Number(seconds)) * 60);
          const [{ tasks }] = await sql<{ tasks: number }[]>`
            select count(*)::int as tasks from private.tasks
            where job_id = any(${burstIds}::uuid[]) and status = 'completed'`;
          runs.add("tasks_per_s", tasks / Number(seconds));
          ctx.log(
            `run ${run + 1}: step p50 ${round(percentile(samples, 50))} ms, ` +
              `${burst} jobs in ${round(Number(seconds))} s`,
          );
        }
      });
    } finally {
      await sql`alter system reset track_functions`.catch(() => {});
      await sql`select pg_reload_conf()`.catch(() => {});
      await sql.end();
    }
    const sqlTimes = sqlFunctions.map((f) =>
      `${f.name} ${round(Number(f.total))} ms (self ${round(Number(f.self))}) × ${f.calls}`
    ).join(", ");
    ctx.log(`SQL functions, per call: ${sqlTimes}`);
    const perStep = [...byStep].map(([step, ms]) => `${step} ${round(median(ms))} ms`).join(", ");
    const breakdown = [...phases].map(([phase, ms]) => `${phase} ${round(median(ms))} ms`)
      .join(", ");
    const handlers = [...handlerByStep].map(([step, ms]) => `${step} ${round(median(ms))} ms`)
      .join(", ");
    ctx.log(`breakdown (median per task): ${breakdown}; handler by step: ${handlers}`);
    return {
      ...runs.result(),
      targets: { step_overhead_p50_ms: "≤ 10 ms" },
      notes: [
        `step_overhead: ${ctx.runs} runs × ${jobsPerRun} one-chunk jobs (4 steps each), provider ` +
        `latency 0; per task: completion − ready (predecessors' completion or the insert). ` +
        `Median by step: ${perStep}.`,
        `step_overhead breakdown, median per task (${breakdownTasks} tasks with the runtime's ` +
        `timings): ${breakdown}. plan+dispatch = ready → dispatched_at (in the transaction ` +
        `that made the task ready); delivery = dispatched_at → the function has the request ` +
        `(commit, net worker, HTTP, gateway); claim = → claimed_at (claim_task over SQL); handler = ` +
        `the step's work (Storage reads; median by step: ${handlers}); complete = the rest ` +
        `until completed_at (claim answer, validation, the complete_task call).`,
        `SQL time per call (pg_stat_user_functions, last run's ${jobsPerRun} jobs; total incl. ` +
        `the functions it calls): ${sqlTimes}.`,
        `pipeline_jobs_per_min: ${burst} one-chunk jobs inserted at once per run, active-job ` +
        `limit raised to 1000 (restored after), global_parallelism ${parallelism}; first insert ` +
        `→ last completion; tasks_per_s = that burst's completed tasks (4 per job) / the same time.`,
      ],
    };
  },
};
