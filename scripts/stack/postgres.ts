/**
 * The stack's own PostgreSQL 15 cluster: Debian's server with the real pg_cron and pgTAP,
 * the stack's pg_net and supabase_vault extensions, and Supabase's base (sql/base.sql).
 * As on a hosted project, the bootstrap superuser is supabase_admin and `postgres` is not a
 * superuser: it gets through hosted_roles (the stack's supautils) what hosted lets through.
 */
import type { StackConfig } from "./config.ts";
import { join } from "node:path";
import { pinnedSupabaseCli, supabaseCliEnv } from "../lib/supabase_cli.ts";
import {
  buildHostedRoles,
  hostedRolesSettings,
  PG_HBA,
  POSTGRES_PASSWORD,
  SUPERUSER,
} from "./hosted_roles.ts";

const isRoot = Deno.uid() === 0;

export function dbUrl(config: StackConfig, user = "postgres"): string {
  return `postgresql://${user}:${POSTGRES_PASSWORD}@127.0.0.1:${config.dbPort}/postgres`;
}

export function dataDir(config: StackConfig): string {
  return join(config.dir, "pg", "data");
}

/** Runs a command, as the postgres OS user when we are root (initdb refuses root). */
async function run(
  cmd: string[],
  opts: { asPostgres?: boolean; quiet?: boolean; env?: Record<string, string> } = {},
) {
  const argv = opts.asPostgres && isRoot ? ["runuser", "-u", "postgres", "--", ...cmd] : cmd;
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
    env: opts.env,
  })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd.join(" ")} failed (${out.code}):\n${text}`);
  return text;
}

/** Copies the stack's extensions (pg_net, supabase_vault) into the server's extension dir. */
export async function installExtensions(config: StackConfig): Promise<void> {
  const shareDir = (await run([join(config.pgBin, "pg_config"), "--sharedir"])).trim();
  const target = join(shareDir, "extension");
  const source = join(config.root, "scripts/stack/extensions");
  for await (const entry of Deno.readDir(source)) {
    const from = join(source, entry.name);
    const to = join(target, entry.name);
    const want = await Deno.readTextFile(from);
    const have = await Deno.readTextFile(to).catch(() => null);
    if (have === want) continue;
    try {
      await Deno.writeTextFile(to, want);
    } catch (e) {
      throw new Error(
        `cannot install ${entry.name} into ${target} (${(e as Error).message}); ` +
          `run once as root: cp ${source}/* ${target}/`,
      );
    }
  }
}

async function chownToPostgres(path: string) {
  if (isRoot) await run(["chown", "-R", "postgres:postgres", path]);
}

export async function isClusterInitialised(config: StackConfig): Promise<boolean> {
  try {
    await Deno.stat(join(dataDir(config), "PG_VERSION"));
    return true;
  } catch {
    return false;
  }
}

/**
 * A new cluster, bootstrapped as supabase_admin as on a hosted project (`bootstrapUser` only
 * lets a test make a cluster the way the stack made them before).
 */
export async function initCluster(
  config: StackConfig,
  bootstrapUser = SUPERUSER,
): Promise<void> {
  const pgDir = join(config.dir, "pg");
  const runDir = join(config.dir, "run");
  await Deno.mkdir(pgDir, { recursive: true });
  await Deno.mkdir(runDir, { recursive: true });
  await Deno.mkdir(join(config.dir, "logs"), { recursive: true });
  // The postgres user must be able to reach the state dir from the repository.
  for (const dir of [config.dir, join(config.dir, "logs")]) await Deno.chmod(dir, 0o755);
  await chownToPostgres(pgDir);
  await chownToPostgres(runDir);
  await run([
    join(config.pgBin, "initdb"),
    "-D",
    dataDir(config),
    "-U",
    bootstrapUser,
    "--auth=trust",
    "-E",
    "UTF8",
    "--locale=C.UTF-8",
  ], { asPostgres: true });
  const settings = [
    `listen_addresses = '127.0.0.1'`,
    `port = ${config.dbPort}`,
    `unix_socket_directories = '${runDir}'`,
    `max_connections = 300`,
    `shared_buffers = 256MB`,
    `cron.database_name = 'postgres'`,
    `cron.use_background_workers = on`,
    `max_worker_processes = 32`,
    // A local development cluster: durability across a machine crash is not needed, speed is.
    `synchronous_commit = off`,
    `log_lock_waits = on`,
    `log_min_messages = warning`,
    `log_line_prefix = '%m [%p] %q%u@%d '`,
    `timezone = 'UTC'`,
  ];
  await Deno.writeTextFile(
    join(dataDir(config), "postgresql.conf"),
    "\n" + settings.join("\n") + "\n",
    {
      append: true,
    },
  );
}

const hostedConfName = "hosted_roles.conf";
const includeHostedConf = `include_if_exists = '${hostedConfName}'`;

/**
 * Writes the cluster's pg_hba.conf and hosted_roles.conf (shared_preload_libraries with pg_cron and the
 * freshly built hosted_roles, and its settings) and includes it from postgresql.conf, also in a
 * cluster made before it existed. Returns whether anything changed (a restart is then due).
 */
export async function configureHostedRoles(config: StackConfig): Promise<boolean> {
  const library = await buildHostedRoles(config);
  const confPath = join(dataDir(config), hostedConfName);
  const want = "# Written by `deno task stack start` (scripts/stack/hosted_roles.ts).\n" +
    hostedRolesSettings(config, library).join("\n") + "\n";
  let changed = false;
  if ((await Deno.readTextFile(confPath).catch(() => null)) !== want) {
    await Deno.writeTextFile(confPath, want);
    await chownToPostgres(confPath);
    changed = true;
  }
  const hbaPath = join(dataDir(config), "pg_hba.conf");
  if ((await Deno.readTextFile(hbaPath).catch(() => null)) !== PG_HBA) {
    await Deno.writeTextFile(hbaPath, PG_HBA);
    await chownToPostgres(hbaPath);
    changed = true;
  }
  const mainConf = join(dataDir(config), "postgresql.conf");
  if (!(await Deno.readTextFile(mainConf)).includes(includeHostedConf)) {
    await Deno.writeTextFile(mainConf, `\n${includeHostedConf}\n`, { append: true });
    changed = true;
  }
  return changed;
}

export async function isPostgresRunning(config: StackConfig): Promise<boolean> {
  // pg_ctl refuses to run as root, so ask as the postgres user when we are root.
  const cmd = [join(config.pgBin, "pg_ctl"), "status", "-D", dataDir(config)];
  const argv = isRoot ? ["runuser", "-u", "postgres", "--", ...cmd] : cmd;
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "null",
    stderr: "null",
  })
    .output().catch(() => null);
  return out?.code === 0;
}

export async function startPostgres(config: StackConfig, restart = false): Promise<void> {
  if (await isPostgresRunning(config)) {
    if (!restart) return;
    await stopPostgres(config);
  }
  const log = join(config.dir, "logs", "postgres.log");
  await Deno.writeTextFile(log, "", { append: true });
  await chownToPostgres(log);
  await run([
    join(config.pgBin, "pg_ctl"),
    "start",
    "-w",
    "-t",
    "30",
    "-D",
    dataDir(config),
    "-l",
    log,
  ], {
    asPostgres: true,
  });
}

export async function stopPostgres(config: StackConfig, mode: "fast" | "immediate" = "fast") {
  if (!(await isPostgresRunning(config))) return;
  await run([join(config.pgBin, "pg_ctl"), "stop", "-w", "-m", mode, "-D", dataDir(config)], {
    asPostgres: true,
  });
}

/**
 * psql against the stack's cluster through its Unix socket (trusted: the stack's own work, and
 * an older cluster's postgres has no password), as the superuser unless `user` says otherwise;
 * throws with psql's output on the first error.
 */
export function psql(config: StackConfig, args: string[], user = SUPERUSER): Promise<string> {
  return run([
    "psql",
    "-X",
    "-q",
    "-v",
    "ON_ERROR_STOP=1",
    "-h",
    join(config.dir, "run"),
    "-p",
    String(config.dbPort),
    "-U",
    user,
    "-d",
    "postgres",
    ...args,
  ]);
}

/** Applies Supabase's base once per cluster. */
export async function applyBase(config: StackConfig): Promise<void> {
  const marker = join(config.dir, "pg", "base-applied");
  try {
    await Deno.stat(marker);
    return;
  } catch { /* not yet */ }
  await psql(config, ["-f", join(config.root, "scripts/stack/sql/base.sql")]);
  await Deno.writeTextFile(marker, new Date().toISOString());
}

/** Where a stack made before this change keeps its old supabase_admin during the switch. */
const previousAdmin = "stack_previous_admin";

/** The name of the bootstrap superuser (OID 10), asked as whichever superuser can log in. */
async function bootstrapRole(config: StackConfig): Promise<{ name: string; askedAs: string }> {
  let lastError: unknown;
  for (const user of [SUPERUSER, previousAdmin, "postgres"]) {
    try {
      const name =
        (await psql(config, ["-tAc", "select rolname from pg_roles where oid = 10"], user))
          .trim();
      return { name, askedAs: user };
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}

/**
 * Makes `postgres` what it is on a hosted project: in a cluster whose bootstrap superuser is
 * still named postgres (made before this change), that superuser becomes supabase_admin and a
 * new postgres takes over the project's objects (sql/bootstrap_to_admin.sql); then, on every
 * start, sql/hosted_roles.sql gives postgres hosted's attributes, memberships and grants.
 */
export async function applyHostedRoles(config: StackConfig): Promise<void> {
  const bootstrap = await bootstrapRole(config);
  if (bootstrap.name === "postgres") {
    if (bootstrap.askedAs !== previousAdmin) {
      // As the bootstrap superuser: the old supabase_admin steps aside (it cannot rename itself).
      await psql(config, [
        "-c",
        `do $$ begin
           if exists (select from pg_roles where rolname = '${SUPERUSER}') then
             alter role ${SUPERUSER} rename to ${previousAdmin};
           else
             create role ${previousAdmin} login superuser;
           end if;
         end $$`,
      ], "postgres");
    }
    await psql(config, [
      "-1",
      "-f",
      join(config.root, "scripts/stack/sql/bootstrap_to_admin.sql"),
    ], previousAdmin);
    await psql(config, [
      "-c",
      `do $$ begin
         if exists (select from pg_extension where extname = 'pg_cron') then
           execute pg_read_file('${
        join(config.root, "scripts/stack/hosted_roles/extension-custom-scripts/pg_cron")
      }/after-create.sql');
         end if;
       end $$`,
    ]);
    await psql(config, ["-c", `drop role ${previousAdmin}`]);
  } else if (bootstrap.name !== SUPERUSER) {
    throw new Error(`unexpected bootstrap superuser ${bootstrap.name}`);
  }
  await psql(config, ["-f", join(config.root, "scripts/stack/sql/hosted_roles.sql")]);
}

/**
 * The cluster, running and ready for migrations: hosted_roles built and loaded (a restart when
 * that changed), the base once, and postgres as hosted at every start.
 */
export async function prepareCluster(config: StackConfig): Promise<void> {
  if (!(await isClusterInitialised(config))) await initCluster(config);
  await startPostgres(config, await configureHostedRoles(config));
  await applyBase(config);
  await applyHostedRoles(config);
}

/** Versions `supabase db push` has recorded in the database (none before the first push). */
async function appliedVersions(config: StackConfig): Promise<string[]> {
  // Over TCP as postgres (who runs db push and owns the history), so a scratch cluster works too.
  const query = (sql: string) =>
    run(["psql", "-X", "-q", "-A", "-t", "-d", dbUrl(config), "-c", sql]);
  const table = "supabase_migrations.schema_migrations";
  const exists = await query(`select to_regclass('${table}') is not null`);
  if (exists.trim() !== "t") return [];
  const out = await query(`select version from ${table}`);
  return out.split("\n").filter(Boolean);
}

/** The released migrations (supabase/releases/released.json), in the order they apply. */
export async function releasedMigrations(root: string): Promise<string[]> {
  const released = JSON.parse(
    await Deno.readTextFile(join(root, "supabase/releases/released.json")),
  ) as { migrations: Record<string, unknown> };
  return Object.keys(released.migrations).sort();
}

/**
 * A throwaway CLI workdir whose supabase/ holds config.toml and only the released migrations,
 * so `db push` there stops at the last release. The caller removes it.
 */
async function releasedWorkdir(root: string): Promise<string> {
  const workdir = await Deno.makeTempDir({ prefix: "stack-released-" });
  await Deno.mkdir(join(workdir, "supabase/migrations"), { recursive: true });
  await Deno.copyFile(join(root, "supabase/config.toml"), join(workdir, "supabase/config.toml"));
  for (const name of await releasedMigrations(root)) {
    await Deno.copyFile(
      join(root, "supabase/migrations", name),
      join(workdir, "supabase/migrations", name),
    );
  }
  return workdir;
}

/**
 * Applies the migrations of supabase/migrations that the database has not applied yet with the
 * real Supabase CLI (`db push`: each file and its history row in one transaction), as on a hosted
 * project; on every `start`, so an existing stack takes new migrations without a reset. When every
 * file is applied already (and nothing else is recorded) the CLI is not started: about 2 s saved.
 * With `migrations: "released"` (the upgrade test) only the released ones.
 */
export async function pushMigrations(
  config: StackConfig,
): Promise<{ applied: string[]; ranCli: boolean }> {
  const files: string[] = [];
  if (config.migrations === "released") files.push(...await releasedMigrations(config.root));
  else {
    for await (const entry of Deno.readDir(join(config.root, "supabase/migrations"))) {
      if (entry.isFile && /^\d+_.*\.sql$/.test(entry.name)) files.push(entry.name);
    }
  }
  files.sort();
  const before = await appliedVersions(config);
  const pending = files.filter((file) => !before.includes(file.split("_")[0]));
  if (!pending.length && before.length === files.length) return { applied: [], ranCli: false };
  const cli = pinnedSupabaseCli(config.root);
  const workdir = config.migrations === "released"
    ? await releasedWorkdir(config.root)
    : config.root;
  try {
    const out = await new Deno.Command(cli, {
      args: [
        "db",
        "push",
        "--db-url",
        dbUrl(config),
        "--yes",
        "--include-all",
        "--workdir",
        workdir,
      ],
      cwd: config.root,
      stdout: "piped",
      stderr: "piped",
      env: supabaseCliEnv(config),
    }).output();
    if (!out.success) {
      throw new Error(
        "supabase db push failed:\n" + new TextDecoder().decode(out.stdout) +
          new TextDecoder().decode(out.stderr),
      );
    }
  } finally {
    if (workdir !== config.root) await Deno.remove(workdir, { recursive: true });
  }
  const after = await appliedVersions(config);
  return { applied: pending.filter((file) => after.includes(file.split("_")[0])), ranCli: true };
}
