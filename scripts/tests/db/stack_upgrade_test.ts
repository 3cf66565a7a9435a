/**
 * A stack directory made before migrations ran as a non-superuser keeps working: its cluster
 * (bootstrap superuser named postgres, owning everything, a separate superuser supabase_admin)
 * is switched on start to hosted's layout, with its data. The test makes such a cluster the
 * way the stack used to (its own cluster, on a free port, in a scratch folder), then runs the
 * current start-up on it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import postgres from "postgres";
import { stackConfig } from "../../stack/config.ts";
import { ensureSupabaseCliEnv } from "../../lib/supabase_cli.ts";
import {
  dataDir,
  dbUrl,
  initCluster,
  installExtensions,
  prepareCluster,
  psql,
  pushMigrations,
  startPostgres,
  stopPostgres,
} from "../../stack/postgres.ts";

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("stack start switches a stack made before to hosted's roles, keeping its data", async () => {
  const dir = await Deno.makeTempDir({ prefix: "stack-upgrade-" });
  const config = stackConfig({
    ...Deno.env.toObject(),
    STACK_DIR: dir,
    STACK_DB_PORT: String(freePort()),
  });
  try {
    // The old layout: initdb's superuser named postgres, pg_cron preloaded, the base with its
    // own superuser supabase_admin, the migrations and a Vault secret applied as that postgres.
    await installExtensions(config);
    await ensureSupabaseCliEnv(config); // the CLI of pushMigrations needs a signing key file
    await initCluster(config, "postgres");
    await Deno.writeTextFile(
      join(dataDir(config), "postgresql.conf"),
      "\nshared_preload_libraries = 'pg_cron'\n",
      { append: true },
    );
    await startPostgres(config);
    const base = (await Deno.readTextFile(join(config.root, "scripts/stack/sql/base.sql")))
      .replace(/^create role postgres .*$/m, "create role supabase_admin login superuser;");
    await Deno.writeTextFile(join(dir, "old_base.sql"), base);
    await psql(config, ["-f", join(dir, "old_base.sql")], "postgres");
    await Deno.writeTextFile(join(dir, "pg", "base-applied"), "before");
    await pushMigrations(config);
    await psql(config, [
      "-c",
      "create extension if not exists supabase_vault",
      "-c",
      "select vault.create_secret('kept', 'upgrade_probe')",
      "-c",
      "insert into auth.users (id, role, aud) values " +
      "('00000000-0000-0000-0000-00000000cafe', 'authenticated', 'authenticated')",
    ], "postgres");
    await stopPostgres(config);

    // What `deno task stack start` does first, twice (the second finds nothing to do).
    await prepareCluster(config);
    await prepareCluster(config);
    await pushMigrations(config);

    const db = postgres(dbUrl(config), { max: 1, onnotice: () => {} });
    try {
      const [state] = await db`
        select (select rolname from pg_roles where oid = 10) as bootstrap,
               (select rolsuper from pg_roles where rolname = 'postgres') as postgres_is_superuser,
               (select count(*)::int from pg_roles where rolname = 'stack_previous_admin') as helper,
               pg_get_userbyid((select relowner from pg_class
                                 where oid = 'public.jobs'::regclass)) as jobs_owner,
               pg_get_userbyid((select relowner from pg_class
                                 where oid = 'storage.objects'::regclass)) as objects_owner,
               (select decrypted_secret from vault.decrypted_secrets
                 where name = 'upgrade_probe') as secret,
               (select count(*)::int from auth.users
                 where id = '00000000-0000-0000-0000-00000000cafe') as users,
               (select count(*)::int from cron.job where username = 'postgres') as cron_jobs`;
      assert.deepEqual(state, {
        bootstrap: "supabase_admin",
        postgres_is_superuser: false,
        helper: 0,
        jobs_owner: "postgres",
        objects_owner: "supabase_storage_admin",
        secret: "kept",
        users: 1,
        cron_jobs: state.cron_jobs,
      });
      assert.ok(state.cron_jobs >= 1, "the product's cron jobs are gone");
      // The project still works as postgres: a job's RPCs and a policy through hosted_roles.
      await db.begin(async (tx) => {
        await tx`select public.tick()`;
        await tx.unsafe(
          "create policy upgrade_probe on storage.objects for select using (false)",
        );
        await tx.unsafe("drop policy upgrade_probe on storage.objects");
      });
      await assert.rejects(
        db.unsafe("create extension file_fdw"),
        /permission denied to create extension "file_fdw"/,
      );
    } finally {
      await db.end();
    }
  } finally {
    await stopPostgres(config).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});
