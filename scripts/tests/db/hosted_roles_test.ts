/**
 * The database as hosted: migrations and SUPABASE_DB_URL run as a `postgres` role that is not a
 * superuser, holds what a hosted project grants it, and gets through supautils only what hosted
 * lets through. What a hosted project refuses fails here with Postgres's own error (SQLSTATE
 * 42501). Sources for every expectation: README, "The database as hosted".
 *
 * The first tests hold on a hosted project too (point SUPABASE_DB_URL at one); the `db push`
 * tests drive the real Supabase CLI against the local stack.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import postgres from "postgres";
import { stackEnv } from "../support/stack_env.ts";
import { stackConfig } from "../../stack/config.ts";
import { pinnedSupabaseCli, supabaseCliEnv } from "../../lib/supabase_cli.ts";

const sql = () => postgres(stackEnv().SUPABASE_DB_URL, { max: 1, onnotice: () => {} });

/**
 * The error a statement gets, or null when it succeeds (in a transaction rolled back after,
 * unless `inTransaction` is false for what cannot run in one, such as ALTER SYSTEM).
 */
async function refusal(
  db: postgres.Sql,
  statement: string,
  inTransaction = true,
): Promise<postgres.PostgresError | null> {
  try {
    if (!inTransaction) {
      await db.unsafe(statement);
      return null;
    }
    await db.begin(async (tx) => {
      await tx.unsafe(statement);
      throw new Rollback();
    });
    return null;
  } catch (e) {
    if (e instanceof Rollback) return null;
    if (e instanceof postgres.PostgresError) return e;
    throw e;
  }
}
class Rollback extends Error {}

async function assertRefused(
  db: postgres.Sql,
  statement: string,
  message: RegExp,
  inTransaction = true,
) {
  const error = await refusal(db, statement, inTransaction);
  assert.ok(error, `hosted refuses, but this succeeded: ${statement}`);
  assert.equal(error.code, "42501", `${statement}: ${error.message}`);
  assert.match(error.message, message, statement);
}

async function assertAllowed(db: postgres.Sql, statement: string) {
  const error = await refusal(db, statement);
  assert.equal(error, null, `hosted allows it, but: ${statement}\n  ${error?.message}`);
}

Deno.test("SUPABASE_DB_URL is the hosted postgres role: not a superuser, with its attributes and memberships", async () => {
  const db = sql();
  try {
    const [role] = await db`
      select current_user as name, rolsuper, rolcreatedb, rolcreaterole, rolreplication,
             rolbypassrls, rolcanlogin
        from pg_roles where rolname = current_user`;
    assert.deepEqual(role, {
      name: "postgres",
      rolsuper: false,
      rolcreatedb: true,
      rolcreaterole: true,
      rolreplication: true,
      rolbypassrls: true,
      rolcanlogin: true,
    });
    const memberships = await db<{ role: string; member: boolean }[]>`
      select r as role, pg_has_role('postgres', r, 'member') as member
        from unnest(array['anon', 'authenticated', 'service_role', 'pg_monitor',
          'pg_read_all_data', 'pg_signal_backend', 'supabase_auth_admin',
          'supabase_storage_admin', 'supabase_realtime_admin', 'supabase_admin',
          'pg_read_server_files', 'pg_write_server_files', 'pg_execute_server_program']) as r`;
    assert.deepEqual(
      Object.fromEntries(memberships.map((m) => [m.role, m.member])),
      {
        anon: true,
        authenticated: true,
        service_role: true,
        pg_monitor: true,
        pg_read_all_data: true,
        pg_signal_backend: true,
        supabase_auth_admin: false,
        supabase_storage_admin: false,
        supabase_realtime_admin: false,
        supabase_admin: false,
        pg_read_server_files: false,
        pg_write_server_files: false,
        pg_execute_server_program: false,
      },
    );
    const owners = await db<{ table: string; owner: string }[]>`
      select c.oid::regclass::text as table, pg_get_userbyid(c.relowner) as owner
        from pg_class c
       where c.oid in ('auth.users'::regclass, 'storage.objects'::regclass,
                       'storage.buckets'::regclass, 'realtime.messages'::regclass)
       order by 1`;
    assert.deepEqual([...owners], [
      { table: "auth.users", owner: "supabase_auth_admin" },
      { table: "realtime.messages", owner: "supabase_realtime_admin" },
      { table: "storage.buckets", owner: "supabase_storage_admin" },
      { table: "storage.objects", owner: "supabase_storage_admin" },
    ]);
  } finally {
    await db.end();
  }
});

Deno.test("what needs a superuser is refused as on a hosted project", async () => {
  const db = sql();
  try {
    // Not in supautils.privileged_extensions (file_fdw is "omitted because may be unsafe").
    await assertRefused(db, "create extension file_fdw", /permission denied to create extension/);
    await assertRefused(
      db,
      "alter system set work_mem = '8MB'",
      /permission denied to set parameter "work_mem"/,
      false,
    );
    await assertRefused(db, "alter role postgres superuser", /permission denied to alter role/);
    await assertRefused(db, "copy (select 1) to program 'true'", /must be superuser or have/);
    // Policies only on the tables of supautils.policy_grants: cron.job is pg_cron's.
    await assertRefused(
      db,
      "create policy nope on cron.job for select using (true)",
      /must be owner of table job/,
    );
    // Superuser-only settings outside supautils.privileged_role_allowed_configs.
    await assertRefused(
      db,
      "set local zero_damaged_pages = on",
      /permission denied to set parameter "zero_damaged_pages"/,
    );
    // Owner-only DDL on Supabase's tables stays refused (postgres only has table privileges).
    await assertRefused(
      db,
      "alter table storage.objects add column nope int",
      /must be owner of table objects/,
    );
    await assertRefused(
      db,
      "alter table auth.users disable row level security",
      /must be owner of table users/,
    );
    await assertRefused(db, "create table auth.nope (id int)", /permission denied for schema auth/);
    // The admin roles are reserved (supautils.reserved_memberships, reserved_roles), although
    // CREATEROLE alone would allow both on Postgres 15.
    await assertRefused(
      db,
      "grant supabase_storage_admin to postgres",
      /"supabase_storage_admin" role memberships are reserved/,
    );
    await assertRefused(
      db,
      "alter role supabase_auth_admin login",
      /"supabase_auth_admin" is a reserved role/,
    );
  } finally {
    await db.end();
  }
});

Deno.test("what hosted lets postgres do through supautils and its grants works", async () => {
  const db = sql();
  try {
    // A privileged extension, created, then dropped.
    await assertAllowed(
      db,
      "create extension citext with schema extensions; drop extension citext",
    );
    // A superuser-only setting of supautils.privileged_role_allowed_configs.
    await assertAllowed(db, "set local session_replication_role = replica");
    // Policies on the granted Storage, Realtime and Auth tables.
    for (const table of ["storage.objects", "storage.buckets", "realtime.messages", "auth.users"]) {
      await assertAllowed(
        db,
        `create policy hosted_probe on ${table} for select to authenticated using (false);
         alter policy hosted_probe on ${table} using (true);
         comment on policy hosted_probe on ${table} is 'probe';
         drop policy hosted_probe on ${table}`,
      );
    }
    // A trigger on auth.users (TRIGGER privilege) and its drop (supautils.drop_trigger_grants).
    await assertAllowed(
      db,
      `create function public.hosted_probe() returns trigger language plpgsql
         as $$ begin return new; end $$;
       create trigger hosted_probe after insert on auth.users
         for each row execute function public.hosted_probe();
       drop trigger hosted_probe on auth.users`,
    );
    // Rows of Auth and Storage tables (GRANT ALL) and Realtime messages.
    await assertAllowed(
      db,
      "select count(*) from auth.users, storage.objects; select count(*) from realtime.messages",
    );
    // The product's own migrations were applied by this role and own its schema.
    const [applied] = await db`
      select count(*)::int as n from supabase_migrations.schema_migrations`;
    assert.ok(applied.n >= 1, "no migration recorded");
    const [jobs] = await db`
      select pg_get_userbyid(relowner) as owner from pg_class where oid = 'public.jobs'::regclass`;
    assert.equal(jobs.owner, "postgres");
    const extensions = await db<{ extname: string }[]>`
      select extname from pg_extension
       where extname in ('pg_net', 'pg_cron', 'supabase_vault', 'pgcrypto') order by 1`;
    assert.deepEqual(extensions.map((e) => e.extname), [
      "pg_cron",
      "pg_net",
      "pgcrypto",
      "supabase_vault",
    ]);
  } finally {
    await db.end();
  }
});

/** `supabase db push --db-url` of the project's migrations plus `extra`, in a scratch project. */
async function pushWith(extra: Record<string, string>) {
  const config = stackConfig();
  const project = await Deno.makeTempDir({ prefix: "hosted-roles-" });
  try {
    await Deno.mkdir(join(project, "supabase/migrations"), { recursive: true });
    await Deno.copyFile(
      join(config.root, "supabase/config.toml"),
      join(project, "supabase/config.toml"),
    );
    for await (const entry of Deno.readDir(join(config.root, "supabase/migrations"))) {
      await Deno.copyFile(
        join(config.root, "supabase/migrations", entry.name),
        join(project, "supabase/migrations", entry.name),
      );
    }
    for (const [name, text] of Object.entries(extra)) {
      await Deno.writeTextFile(join(project, "supabase/migrations", name), text);
    }
    const out = await new Deno.Command(
      pinnedSupabaseCli(config.root),
      {
        args: ["db", "push", "--db-url", stackEnv().SUPABASE_DB_URL, "--yes", "--include-all"],
        cwd: project,
        stdout: "piped",
        stderr: "piped",
        env: supabaseCliEnv(config),
      },
    ).output();
    const decoder = new TextDecoder();
    return {
      success: out.success,
      output: decoder.decode(out.stdout) + decoder.decode(out.stderr),
    };
  } finally {
    await Deno.remove(project, { recursive: true });
  }
}

Deno.test("db push: a migration that needs a superuser fails with hosted's error and leaves nothing", async () => {
  const version = "29990101000000";
  const pushed = await pushWith({
    [`${version}_needs_superuser.sql`]: "create table public.hosted_probe (id int);\n" +
      "create extension if not exists file_fdw;\n",
  });
  const db = sql();
  try {
    assert.equal(pushed.success, false, pushed.output);
    assert.match(pushed.output, /permission denied to create extension "file_fdw"/);
    assert.match(pushed.output, /SQLSTATE 42501/);
    const [left] = await db`
      select to_regclass('public.hosted_probe') as probe,
             exists (select from supabase_migrations.schema_migrations
                      where version = ${version}) as recorded`;
    assert.deepEqual(left, { probe: null, recorded: false });
  } finally {
    // Where a superuser applied it (the failure this test exists for), the next push of the
    // real migrations must not trip over an unknown version.
    await db.unsafe(`
      drop table if exists public.hosted_probe;
      delete from supabase_migrations.schema_migrations where version = '${version}';`);
    await db.end();
  }
});

Deno.test("db push: storage and realtime policies and privileged extensions apply as postgres", async () => {
  const version = "29990101000001";
  const pushed = await pushWith({
    [`${version}_hosted_allows.sql`]: [
      "create extension if not exists hstore with schema extensions;",
      "create policy hosted_push_probe on storage.objects for select to authenticated using (false);",
      "create policy hosted_push_probe on realtime.messages for select to authenticated using (false);",
    ].join("\n") + "\n",
  });
  const db = sql();
  try {
    assert.equal(pushed.success, true, pushed.output);
    const policies = await db`
      select schemaname || '.' || tablename as t from pg_policies
       where policyname = 'hosted_push_probe' order by 1`;
    assert.deepEqual(policies.map((p) => p.t), ["realtime.messages", "storage.objects"]);
  } finally {
    // Undo as postgres (what the policy grants and privileged extensions allow), and forget the
    // version so the next push of the real migrations is unaffected.
    await db.unsafe(`
      drop policy if exists hosted_push_probe on storage.objects;
      drop policy if exists hosted_push_probe on realtime.messages;
      drop extension if exists hstore;
      delete from supabase_migrations.schema_migrations where version = '${version}';`);
    await db.end();
  }
});
