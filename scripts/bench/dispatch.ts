/**
 * dispatch: how long from a job row insert until its first step function starts, through the
 * real path (REST insert → AFTER INSERT trigger → pg_net at commit → the stack's net worker →
 * gateway → the `prepare` function → its claim_task RPC). "Starts" is the claim: the moment
 * the step function holds the task (tasks.claimed_at, clock_timestamp() in claim_task), the
 * earliest point its work can begin; the function received the HTTP request one REST round
 * trip before that, so this is an upper bound on "function start". The insert time is
 * jobs.created_at (now() of the inserting transaction). Both are read from the database clock.
 *
 * In the same run, the alternative a queue in Postgres would otherwise use: a worker that
 * LISTENs for a NOTIFY sent by an AFTER INSERT trigger and claims the row with
 * UPDATE ... FOR UPDATE SKIP LOCKED (baseline_listen_notify_p50_ms), measured the same way
 * (claim time minus the inserting transaction's now()).
 */
import postgres from "postgres";
import { adminSql } from "../tests/support/stack_env.ts";
import {
  prepareUploads,
  requireProvider,
  submitJob,
  UNTIL_COMPLETED,
  withSettings,
} from "./job_fixtures.ts";
import { waitForJobs } from "../tests/support/submissions.ts";
import { median, percentile, round, RunFigures } from "./statistics.ts";
import type { BenchSuite } from "./suite.ts";

const SETUP_LISTEN = `
  create schema bench_listen;
  create table bench_listen.queue (
    id bigint generated always as identity primary key,
    created_at timestamptz not null default now(),
    picked_at timestamptz
  );
  create function bench_listen.announce() returns trigger language plpgsql as $$
  begin
    perform pg_notify('bench_listen', new.id::text);
    return null;
  end $$;
  create trigger queue_announce after insert on bench_listen.queue
    for each row execute function bench_listen.announce();`;

export const dispatch: BenchSuite = {
  name: "dispatch",
  async run(ctx) {
    const provider = requireProvider(ctx.provider);
    const sql = adminSql();
    const samplesPerRun = ctx.quick ? 8 : 20;
    const runs = new RunFigures();
    const notes: string[] = [];
    try {
      const uploads = await prepareUploads();
      const before = provider.requests.length;
      const parts = { trigger: [] as number[], delivery: [] as number[] };
      await withSettings(sql, { active_job_limit: 1000, per_user_active_limit: 1000 }, async () => {
        // Warm-up: the first request of each function process pays for JIT compilation.
        for (let i = 0; i < 2; i++) {
          await waitForJobs(sql, [await submitJob(uploads, 1)], UNTIL_COMPLETED);
        }
        for (let run = 0; run < ctx.runs; run++) {
          const samples: number[] = [];
          for (let i = 0; i < samplesPerRun; i++) {
            const id = await submitJob(uploads, 1);
            // One job at a time, finished before the next, so samples do not queue behind
            // each other's work.
            await waitForJobs(sql, [id], UNTIL_COMPLETED);
            const [row] = await sql<{ total: number; trigger: number; delivery: number }[]>`
              select extract(epoch from t.claimed_at - j.created_at) * 1000 as total,
                     extract(epoch from t.dispatched_at - j.created_at) * 1000 as trigger,
                     extract(epoch from t.claimed_at - t.dispatched_at) * 1000 as delivery
              from private.tasks t join public.jobs j on j.id = t.job_id
              where t.job_id = ${id} and t.step = 'prepare' and t.attempts = 1`;
            if (!row) throw new Error(`job ${id}: its prepare task was not claimed on attempt 1`);
            samples.push(Number(row.total));
            parts.trigger.push(Number(row.trigger));
            parts.delivery.push(Number(row.delivery));
          }
          runs.add("dispatch_p50_ms", percentile(samples, 50));
          runs.add("dispatch_p95_ms", percentile(samples, 95));
          ctx.log(`run ${run + 1}: p50 ${round(median(samples))} ms`);
        }
      });
      if (provider.requests.length - before < 1) {
        throw new Error("no job reached the bench provider; the stack is not wired to it");
      }
      notes.push(
        `dispatch: ${ctx.runs} runs × ${samplesPerRun} jobs of 1 chunk, one at a time; ` +
          `insert → prepare's claim_task (tasks.claimed_at − jobs.created_at). Of that, median ` +
          `${round(median(parts.trigger))} ms inside the inserting transaction (trigger, plan, ` +
          `net.http_post) and ${round(median(parts.delivery))} ms from the dispatch to the claim ` +
          `(commit, NOTIFY wake-up of the net worker, HTTP through the gateway, 202, claim_task over SQL).`,
      );

      // The LISTEN/NOTIFY worker baseline.
      await sql.unsafe(`drop schema if exists bench_listen cascade; ${SETUP_LISTEN}`);
      const worker = postgres(ctx.env.SUPABASE_DB_URL, { max: 1, onnotice: () => {} });
      try {
        const listener = await worker.listen("bench_listen", () => {
          worker`update bench_listen.queue set picked_at = clock_timestamp()
                 where id = (select id from bench_listen.queue where picked_at is null
                             order by id limit 1 for update skip locked)`
            .catch((e) => ctx.log(`listen worker: ${e}`));
        });
        const producer = postgres(ctx.env.SUPABASE_DB_URL, { max: 1, onnotice: () => {} });
        try {
          for (let run = 0; run < ctx.runs; run++) {
            const samples: number[] = [];
            for (let i = 0; i < samplesPerRun; i++) {
              const [{ id }] = await producer<{ id: string }[]>`
                insert into bench_listen.queue default values returning id`;
              const deadline = Date.now() + 10_000;
              while (true) {
                const [row] = await producer<{ ms: number | null }[]>`
                  select extract(epoch from picked_at - created_at) * 1000 as ms
                  from bench_listen.queue where id = ${id}`;
                if (row.ms !== null) {
                  samples.push(Number(row.ms));
                  break;
                }
                if (Date.now() > deadline) throw new Error("the LISTEN worker never claimed a row");
                await new Promise((r) => setTimeout(r, 5));
              }
            }
            runs.add("baseline_listen_notify_p50_ms", percentile(samples, 50));
          }
        } finally {
          await producer.end();
        }
        await listener.unlisten();
      } finally {
        await worker.end();
        await sql.unsafe(`drop schema if exists bench_listen cascade`);
      }
      notes.push(
        `baseline_listen_notify: a worker in this process LISTENs; an AFTER INSERT trigger ` +
          `NOTIFYs; the worker claims with UPDATE … FOR UPDATE SKIP LOCKED (claim − insert, ` +
          `database clock), ${ctx.runs} runs × ${samplesPerRun} rows.`,
      );
    } finally {
      await sql.end();
    }
    return {
      ...runs.result(),
      targets: { dispatch_p50_ms: "≤ 50 ms" },
      notes,
    };
  },
};
