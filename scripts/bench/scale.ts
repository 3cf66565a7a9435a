/**
 * scale: the two queries that run all the time, with 1,000,000 jobs in the table (100,000 with
 * --quick; same keys). list_page_ms_1m is the web app's jobs page (web/src/jobs.ts: own jobs,
 * newest first, 10 rows, exact count) as PostgREST runs it — role `authenticated`, the JWT
 * claims set, RLS applied — timed over a direct connection (statement round trips, no HTTP);
 * the same page through the REST gateway with supabase-js is in the notes. tick_ms_1m is one
 * `select public.tick()`, the every-minute recovery pass. EXPLAIN lines go to the notes.
 */
import { adminSql, signedInClient } from "../tests/support/stack_env.ts";
import { createBulkUsers, loadBulkJobs, removeBulkRows } from "./bulk_rows.ts";
import { median, percentile, round, RunFigures } from "./statistics.ts";
import type { BenchSuite } from "./suite.ts";

const COLUMNS =
  "id,filename,status,stage,stage_message,progress,error_message,cached_from,created_at,options";

export const scale: BenchSuite = {
  name: "scale",
  async run(ctx) {
    const rows = ctx.quick ? 100_000 : 1_000_000;
    const sql = adminSql();
    const runs = new RunFigures();
    const notes: string[] = [];
    let owners: string[] = [];
    const { client, userId } = await signedInClient();
    try {
      // 10,000 users with 100 jobs each (10 with --quick), plus the measured user's own 100.
      owners = await createBulkUsers(sql, 10_000);
      const loadSeconds = await loadBulkJobs(sql, { owners, count: rows, kind: "live" });
      const mine = await loadBulkJobs(sql, { owners: [userId], count: 100, kind: "live" });
      const [{ total }] = await sql<{ total: number }[]>`
        select count(*)::int as total from public.jobs`;
      notes.push(
        `scale: ${total} rows in public.jobs (${rows} bulk-loaded with generate_series in ` +
          `${round(loadSeconds, 1)} s, triggers skipped, over 10,000 users; the measured user ` +
          `owns 100, loaded in ${round(mine, 1)} s); removed afterwards.`,
      );

      const claims = JSON.stringify({ sub: userId, role: "authenticated" });
      const page = (explain: string) =>
        sql.begin(async (tx) => {
          await tx`select set_config('role', 'authenticated', true),
                          set_config('request.jwt.claims', ${claims}, true)`;
          const list = await tx.unsafe(
            `${explain}select ${COLUMNS} from public.jobs where owner_id = $1
             order by created_at desc limit 10 offset 0`,
            [userId],
          );
          const count = await tx.unsafe(
            `${explain}select count(*) from public.jobs where owner_id = $1`,
            [userId],
          );
          return { list, count };
        });
      const plans = await page("explain (analyze, costs off, timing off, summary off) ");
      const planText = (r: Record<string, unknown>[]) =>
        r.map((l) => String(Object.values(l)[0]).trim()).join(" / ");
      notes.push(`EXPLAIN page: ${planText(plans.list as unknown as Record<string, unknown>[])}`);
      notes.push(`EXPLAIN count: ${planText(plans.count as unknown as Record<string, unknown>[])}`);
      for (
        const [name, query] of [
          [
            "active-job limit (every insert)",
            `select count(*) from public.jobs where status in ('pending', 'processing')`,
          ],
          [
            "dispatch_due candidates (every tick)",
            `select t.id from private.tasks t join public.jobs j on j.id = t.job_id
           join private.steps s on s.step = t.step
           where t.status = 'pending' and (t.not_before is null or t.not_before <= now())
             and j.status in ('pending', 'processing') and j.deleted_at is null
           order by j.created_at, s.position, t.chunk_index nulls first, t.key`,
          ],
          [
            "retention (every hour)",
            `select j.id from public.jobs j where j.expires_at <= now()
           order by j.expires_at, j.id limit 200`,
          ],
        ]
      ) {
        const plan = await sql.unsafe(`explain (costs off) ${query}`);
        notes.push(`EXPLAIN ${name}: ${planText(plan as unknown as Record<string, unknown>[])}`);
      }

      const samples = ctx.quick ? 20 : 50;
      for (let run = -1; run < ctx.runs; run++) {
        const pageMs: number[] = [];
        const restMs: number[] = [];
        const tickMs: number[] = [];
        for (let i = 0; i < samples; i++) {
          let t0 = performance.now();
          const { list } = await page("");
          pageMs.push(performance.now() - t0);
          if (list.length !== 10) throw new Error(`the page has ${list.length} rows, not 10`);
          t0 = performance.now();
          const { data, error } = await client.from("jobs").select(COLUMNS, { count: "exact" })
            .eq("owner_id", userId).order("created_at", { ascending: false }).range(0, 9);
          restMs.push(performance.now() - t0);
          if (error || data?.length !== 10) throw new Error(`REST page: ${error?.message}`);
          if (i % 5 === 0) {
            t0 = performance.now();
            await sql`select public.tick()`;
            tickMs.push(performance.now() - t0);
          }
        }
        if (run < 0) continue; // warm-up round (plans and buffers)
        runs.add("list_page_ms_1m", median(pageMs));
        runs.add("list_page_rest_ms_1m", median(restMs));
        runs.add("tick_ms_1m", median(tickMs));
        ctx.log(
          `run ${run + 1}: page ${round(median(pageMs))} ms (p95 ${
            round(percentile(pageMs, 95))
          }), REST ${round(median(restMs))} ms, tick ${round(median(tickMs))} ms`,
        );
      }
    } finally {
      await removeBulkRows(sql, owners).catch((e) => ctx.log(`removing bulk rows: ${e}`));
      await removeBulkRows(sql, [userId]).catch(() => {});
      await sql.end();
    }
    return {
      ...runs.result(),
      targets: { list_page_ms_1m: "≤ 5 ms", tick_ms_1m: "≤ 50 ms" },
      notes,
    };
  },
};
