/**
 * cleanup: removing 100,000 expired jobs (10,000 with --quick) the way retention does —
 * public.expire_jobs() hands bounded batches over (marks them deleted, stops their work), and
 * for each batch the `cleanup` function's SQL follows: cleanup_targets(batch) (which storage
 * folders to remove; the Storage calls themselves are the function's, not measured here) and
 * purge_jobs(batch), whose cascades delete tasks and outputs. Each statement is its own
 * transaction, as the function's RPCs are, so the longest statement bounds how long any row
 * lock is held (cleanup_max_lock_ms). Meanwhile a probe connection keeps reading a live user's
 * jobs page and updating a live job row; its slowest round trip shows whether anything was
 * blocked. Dispatch to the functions is switched off for the suite (the Vault secret name in
 * private.settings points nowhere), so the HTTP side of cleanup does not run; restored after.
 */
import { adminSql } from "../tests/support/stack_env.ts";
import { createBulkUsers, loadBulkJobs, removeBulkRows } from "./bulk_rows.ts";
import { withSettings } from "./job_fixtures.ts";
import { percentile, round, RunFigures } from "./statistics.ts";
import type { BenchSuite } from "./suite.ts";

export const cleanup: BenchSuite = {
  name: "cleanup",
  async run(ctx) {
    const total = ctx.quick ? 10_000 : 100_000;
    const perRun = Math.floor(total / ctx.runs);
    const sql = adminSql();
    const probeSql = adminSql();
    const runs = new RunFigures();
    const notes: string[] = [];
    let owners: string[] = [];
    let live: string[] = [];
    let purgedIds: string[] = [];
    try {
      owners = await createBulkUsers(sql, 1_000);
      const loadSeconds = await loadBulkJobs(sql, {
        owners,
        count: total,
        kind: "expired",
        childrenPerJob: 3,
      });
      live = await createBulkUsers(sql, 1);
      await loadBulkJobs(sql, { owners: live, count: 100, kind: "live" });
      purgedIds = (await sql<{ id: string }[]>`
        select id from public.jobs where owner_id = any(${owners}::uuid[])`).map((r) => r.id);
      const [{ batch }] = await sql<{ batch: number }[]>`
        select cleanup_batch_size as batch from private.settings`;
      notes.push(
        `cleanup: ${total} expired jobs with 3 tasks and 3 outputs each, loaded in ` +
          `${round(loadSeconds, 1)} s; removed in ${ctx.runs} runs of ${perRun}; batch size ` +
          `${batch} (private.settings.cleanup_batch_size); per batch cleanup_targets then ` +
          `purge_jobs, after each expire_jobs() hand-over.`,
      );

      const [liveJob] = await sql<{ id: string }[]>`
        select id from public.jobs where owner_id = ${live[0]} limit 1`;
      const longestBy = new Map<string, number>();
      let probing = true;
      const probeMs: number[] = [];
      const claims = JSON.stringify({ sub: live[0], role: "authenticated" });
      const probe = (async () => {
        while (probing) {
          const t0 = performance.now();
          await probeSql.begin(async (tx) => {
            await tx`select set_config('role', 'authenticated', true),
                            set_config('request.jwt.claims', ${claims}, true)`;
            await tx`select id from public.jobs where owner_id = ${live[0]}
                     order by created_at desc limit 10`;
          });
          await probeSql`update public.jobs set stage_message = ${"probe " + t0}
                         where id = ${liveJob.id}`;
          probeMs.push(performance.now() - t0);
          await new Promise((r) => setTimeout(r, 10));
        }
      })();

      await withSettings(sql, { functions_url_secret: "bench-cleanup-no-dispatch" }, async () => {
        for (let run = 0; run < ctx.runs; run++) {
          let removed = 0;
          let longest = 0;
          const timed = async <T>(kind: string, statement: () => Promise<T>): Promise<T> => {
            const t0 = performance.now();
            const result = await statement();
            const ms = performance.now() - t0;
            longest = Math.max(longest, ms);
            longestBy.set(kind, Math.max(longestBy.get(kind) ?? 0, ms));
            return result;
          };
          const t0 = performance.now();
          while (removed < perRun) {
            const [{ handed }] = await timed(
              "expire_jobs",
              () => sql<{ handed: number }[]>`select public.expire_jobs() as handed`,
            );
            if (handed === 0) break;
            const ids = (await sql<{ id: string }[]>`
              select id from public.jobs where deleted_at is not null and expires_at <= now()
              order by expires_at, id limit ${handed}`).map((r) => r.id);
            for (let i = 0; i < ids.length; i += batch) {
              const part = ids.slice(i, i + batch);
              await timed(
                "cleanup_targets",
                () => sql`select public.cleanup_targets(${part}::uuid[])`,
              );
              const [{ purged }] = await timed(
                "purge_jobs",
                () =>
                  sql<{ purged: number }[]>`select public.purge_jobs(${part}::uuid[]) as purged`,
              );
              removed += purged;
            }
          }
          const seconds = (performance.now() - t0) / 1000;
          runs.add("cleanup_rows_per_s", removed / seconds);
          runs.add("cleanup_max_lock_ms", longest);
          ctx.log(
            `run ${run + 1}: ${removed} jobs in ${round(seconds, 1)} s, longest statement ` +
              `${round(longest)} ms`,
          );
        }
      });
      probing = false;
      await probe;
      notes.push(
        `longest single statement by kind: ${
          [...longestBy].map(([k, ms]) => `${k} ${round(ms)} ms`).join(", ")
        }.`,
      );
      const [{ left }] = await sql<{ left: number }[]>`
        select count(*)::int as left from public.jobs where owner_id = any(${owners}::uuid[])`;
      notes.push(
        `probe (live user's page + an UPDATE of a live job, every 10 ms) during cleanup: ` +
          `${probeMs.length} round trips, p50 ${round(percentile(probeMs, 50))} ms, max ` +
          `${round(Math.max(...probeMs))} ms; expired jobs left: ${left}.`,
      );
    } finally {
      await sql.begin(async (tx) => {
        await tx`set local session_replication_role = replica`;
        await tx`delete from private.events where job_id = any(${purgedIds}::uuid[])`;
      }).catch((e) => ctx.log(`removing purge events: ${e}`));
      await removeBulkRows(sql, [...owners, ...live]).catch((e) => ctx.log(`cleanup: ${e}`));
      await sql.end();
      await probeSql.end();
    }
    return {
      ...runs.result(),
      targets: { cleanup_max_lock_ms: "≤ 1000 ms" },
      notes,
    };
  },
};
