/**
 * Bulk rows for the scale suites, loaded as superuser in one statement with generate_series.
 * Triggers are skipped (session_replication_role = replica): a million submissions through the
 * submit trigger would measure the trigger, not the table. Every row belongs to users this
 * module creates, so removing those users' rows removes exactly what was loaded.
 */
import type postgres from "postgres";

/** Creates `count` users and returns their ids. */
export async function createBulkUsers(sql: postgres.Sql, count: number): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    insert into auth.users (id, role, aud, is_anonymous)
    select gen_random_uuid(), 'authenticated', 'authenticated', true
    from generate_series(1, ${count})
    returning id`;
  return rows.map((r) => r.id);
}

export interface BulkJobs {
  owners: string[];
  count: number;
  /** 'completed' rows in retention, or rows already past retention. */
  kind: "live" | "expired";
  /** Also write this many completed tasks and outputs per job (cascade work for purges). */
  childrenPerJob?: number;
}

/**
 * Inserts `count` completed jobs spread evenly over `owners`, newest last, one second apart.
 * Returns the load time in seconds.
 */
export async function loadBulkJobs(sql: postgres.Sql, spec: BulkJobs): Promise<number> {
  const t0 = performance.now();
  const expires = spec.kind === "live" ? "7 days" : "-1 day";
  await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`set local synchronous_commit = off`;
    await tx`
      insert into public.jobs (id, owner_id, filename, media, options, status, stage, stage_message,
        progress, created_at, started_at, completed_at, updated_at, expires_at)
      select gen_random_uuid(), o.owners[1 + g % o.n], 'bulk-' || g || '.mp4',
        jsonb_build_object('path', o.owners[1 + g % o.n] || '/bulk-' || g || '/manifest.json',
          'bytes', 1000000, 'sha256', md5(g::text) || md5((g + 1)::text), 'duration', 600),
        '{"language": "auto", "translate_to": [], "summarize": false}'::jsonb,
        'completed', 'render', 'Done', 100,
        ts, ts, ts + interval '2 minutes', ts + interval '2 minutes',
        ts + ${expires}::interval
      from (select ${spec.owners}::uuid[] as owners, ${spec.owners.length}::int as n) o,
        generate_series(1, ${spec.count}) g,
        lateral (select now() - interval '6 days' + g * interval '100 milliseconds' as ts) t`;
    const children = spec.childrenPerJob ?? 0;
    if (children > 0) {
      await tx`
        insert into private.tasks (job_id, step, key, status, attempts, output, completed_at)
        select j.id, s.step, '', 'completed', 1, '{}'::jsonb, j.completed_at
        from public.jobs j, (select step from private.steps order by position limit ${children}) s
        where j.owner_id = any(${spec.owners}::uuid[])`;
      await tx`
        insert into public.job_outputs (job_id, language, format, content)
        select j.id, 'en', f.format, 'bulk'
        from public.jobs j, (select unnest(array['srt', 'vtt', 'json', 'summary']) as format
                             limit ${children}) f
        where j.owner_id = any(${spec.owners}::uuid[])`;
    }
  });
  await sql`analyze public.jobs`;
  await sql`analyze private.tasks`;
  await sql`analyze public.job_outputs`;
  return (performance.now() - t0) / 1000;
}

/** Removes every row of these users (jobs, their tasks and outputs, the users). */
export async function removeBulkRows(sql: postgres.Sql, owners: string[]): Promise<void> {
  if (!owners.length) return;
  await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`delete from private.tasks t using public.jobs j
             where j.id = t.job_id and j.owner_id = any(${owners}::uuid[])`;
    await tx`delete from public.job_outputs o using public.jobs j
             where j.id = o.job_id and j.owner_id = any(${owners}::uuid[])`;
    await tx`delete from private.events e using public.jobs j
             where j.id = e.job_id and j.owner_id = any(${owners}::uuid[])`;
    await tx`delete from public.jobs where owner_id = any(${owners}::uuid[])`;
    await tx`delete from auth.users where id = any(${owners}::uuid[])`;
  });
}
