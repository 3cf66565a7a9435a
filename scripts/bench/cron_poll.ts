/**
 * baseline_cron_poll_p50_ms: the alternative to dispatch by trigger + pg_net — a pg_cron job
 * at its finest schedule that polls a queue table and claims what it finds.
 *
 * The finest schedule of this pg_cron (1.4, Debian's postgresql-15-cron 1.4.2) is one minute:
 * cron.schedule(..., '5 seconds', ...) fails with "invalid schedule: 5 seconds"; the
 * '[1-59] seconds' syntax arrived in pg_cron 1.5. So the poller runs '* * * * *'.
 * Rows are inserted at evenly spread moments of one schedule period, starting just after a
 * minute boundary, so every phase of the minute is sampled equally; latency is the claim time
 * minus the insert time (database clock). The runs are interleaved subsets of those moments.
 * Because the figure is dominated by the schedule, not by load, the suite runs in the
 * background while the other suites measure.
 */
import { adminSql } from "../tests/support/stack_env.ts";
import { median, round, RunFigures } from "./statistics.ts";
import type { BenchSuite } from "./suite.ts";

const JOB_NAME = "bench-cron-poll";

export const cronPoll: BenchSuite = {
  name: "cron_poll_baseline",
  background: true,
  async run(ctx) {
    const sql = adminSql();
    const samples = ctx.quick ? 6 : 12;
    const runs = new RunFigures();
    try {
      await sql.unsafe(`
        drop schema if exists bench_cron cascade;
        create schema bench_cron;
        create table bench_cron.queue (
          id bigint generated always as identity primary key,
          created_at timestamptz not null default now(),
          picked_at timestamptz
        );`);
      const rejected = await sql`select cron.schedule('bench-probe', '5 seconds', 'select 1')`
        .then(() => false, () => true);
      if (!rejected) {
        await sql`select cron.unschedule('bench-probe')`;
        throw new Error("this pg_cron accepts second schedules; use the finest one here");
      }
      await sql`select cron.schedule(${JOB_NAME}, '* * * * *',
        'update bench_cron.queue set picked_at = clock_timestamp() where picked_at is null')`;
      const [{ epoch }] = await sql<{ epoch: number }[]>`
        select extract(epoch from clock_timestamp()) as epoch`;
      const boundary = (Math.floor(Number(epoch) / 60) + 1) * 60;
      const offset = Number(epoch) * 1000 - Date.now(); // database clock − this clock
      const at = (dbSeconds: number) => dbSeconds * 1000 - offset;
      for (let i = 0; i < samples; i++) {
        const when = at(boundary + (i + 0.5) * (60 / samples));
        await new Promise((r) => setTimeout(r, Math.max(0, when - Date.now())));
        await sql`insert into bench_cron.queue default values`;
      }
      const deadline = Date.now() + 150_000;
      while (true) {
        const [{ open }] = await sql<{ open: number }[]>`
          select count(*)::int as open from bench_cron.queue where picked_at is null`;
        if (open === 0) break;
        if (Date.now() > deadline) throw new Error(`${open} rows never picked up by pg_cron`);
        await new Promise((r) => setTimeout(r, 500));
      }
      const rows = await sql<{ ms: number }[]>`
        select extract(epoch from picked_at - created_at) * 1000 as ms
        from bench_cron.queue order by id`;
      const all = rows.map((r) => Number(r.ms));
      for (let run = 0; run < ctx.runs; run++) {
        runs.add("baseline_cron_poll_p50_ms", median(all.filter((_, i) => i % ctx.runs === run)));
      }
      ctx.log(`median ${round(median(all))} ms over ${all.length} rows`);
      return {
        ...runs.result(0),
        notes: [
          `pg_cron ${
            (await sql`select extversion from pg_extension where extname = 'pg_cron'`)[0]
              .extversion
          }: finest schedule '* * * * *' ('5 seconds' is rejected as an invalid schedule); ` +
          `${samples} rows inserted at evenly spread moments of one minute, median of all ` +
          `${round(median(all), 0)} ms.`,
        ],
      };
    } finally {
      await sql`select cron.unschedule(jobid) from cron.job where jobname = ${JOB_NAME}`
        .catch(() => {});
      await sql.unsafe(`drop schema if exists bench_cron cascade`).catch(() => {});
      await sql.end();
    }
  },
};
