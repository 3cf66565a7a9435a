/**
 * `deno task db:diff`: a copy of supabase/schemas with changes of every kind the engine or our
 * cover handles (a function body, a table with RLS, a policy on storage.objects, a trigger, a
 * column grant, a comment, pg_cron jobs, a new function kept from anon) and one data change. The migration it plans must, on top
 * of supabase/migrations, give exactly the copy's catalog (diffSchemas applies and compares it),
 * and the data change must be reported for writing by hand, not lost.
 */
import { join } from "node:path";
import { repoRoot } from "../../stack/config.ts";
import { diffSchemas } from "../../db/diff.ts";

const changes = String.raw`
create table private.diff_probe (id int primary key, note text not null default 'none');
alter table private.diff_probe enable row level security;
create policy diff_probe_read on private.diff_probe for select to authenticated using (true);
grant select (id) on private.diff_probe to authenticated;
comment on table private.diff_probe is 'made by db_diff_test';
create function private.diff_probe_touch() returns trigger language plpgsql as $$
begin new.note := 'touched'; return new; end $$;
create trigger diff_probe_touch before update on private.diff_probe
  for each row execute function private.diff_probe_touch();
grant references (filename) on public.jobs to anon;
create function public.diff_probe_rpc() returns int language sql as $$ select 1 $$;
revoke execute on function public.diff_probe_rpc() from public, anon, authenticated;
grant execute on function public.diff_probe_rpc() to service_role;
alter policy media_select_own_folder on storage.objects using (false);
do $$ begin execute regexp_replace(pg_get_functiondef('public.tick()'::regprocedure),
  '\$function\$\s*$', E'-- changed by db_diff_test\n$function$'); end $$;
select cron.schedule('ai-subs-tick', '*/2 * * * *', 'select public.tick()');
select cron.unschedule('ai-subs-prune-events');
update private.error_codes set message = 'Changed by db_diff_test.' where code = 'internal';
`;

Deno.test("db:diff writes the migration from migrations/ to schemas/ and reports data", async () => {
  const copy = await Deno.makeTempDir({ prefix: "ai-subs-schemas-" });
  try {
    const source = join(repoRoot, "supabase/schemas");
    for await (const entry of Deno.readDir(source)) {
      if (entry.name.endsWith(".sql")) {
        await Deno.copyFile(join(source, entry.name), join(copy, entry.name));
      }
    }
    await Deno.writeTextFile(join(copy, "999_diff_probe.sql"), changes);
    const diff = await diffSchemas(copy);
    const sql = diff.files.join("\n");
    if (diff.missing.length) {
      throw new Error(`the migration misses: ${diff.missing.map((d) => d.key).join(", ")}\n${sql}`);
    }
    for (
      const expected of [
        `CREATE TABLE "private"."diff_probe"`,
        `ENABLE ROW LEVEL SECURITY`,
        `CREATE POLICY "diff_probe_read"`,
        `CREATE POLICY "media_select_own_folder" ON "storage"."objects"`,
        `CREATE TRIGGER diff_probe_touch`,
        `("filename")`,
        `-- changed by db_diff_test`,
        // Supabase's default privileges grant a new function to anon; the plan does not revoke.
        `revoke all on function public.diff_probe_rpc() from anon;`,
        `perform cron.schedule('ai-subs-tick', '*/2 * * * *', 'select public.tick()');`,
        `where jobname = 'ai-subs-prune-events'`,
      ]
    ) {
      if (!sql.includes(expected)) throw new Error(`the migration lacks ${expected}:\n${sql}`);
    }
    const rows = diff.rows.map((d) => d.key);
    if (rows.join() !== `row private.error_codes ["internal"]`) {
      throw new Error(`data differences reported: ${JSON.stringify(rows)}`);
    }
  } finally {
    await Deno.remove(copy, { recursive: true });
  }
});
