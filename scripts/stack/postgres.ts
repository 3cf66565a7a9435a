/**
 * The stack's own PostgreSQL 15 cluster: Debian's server with the real pg_cron and pgTAP,
 * the stack's pg_net and supabase_vault extensions, and Supabase's base (sql/base.sql).
 */
import type { StackConfig } from "./config.ts";
import { join } from "node:path";
import { supabaseCliEnv } from "../lib/supabase_cli.ts";

const isRoot = Deno.uid() === 0;

export function dbUrl(config: StackConfig, user = "postgres"): string {
  return `postgresql://${user}:postgres@127.0.0.1:${config.dbPort}/postgres`;
}

export function dataDir(config: StackConfig): string {
  return join(config.dir, "pg", "data");
}

/** Runs a command, as the postgres OS user when we are root (initdb refuses root). */
async function run(cmd: string[], opts: { asPostgres?: boolean; quiet?: boolean } = {}) {
  const argv = opts.asPostgres && isRoot ? ["runuser", "-u", "postgres", "--", ...cmd] : cmd;
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
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

export async function initCluster(config: StackConfig): Promise<void> {
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
    "postgres",
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
    `shared_preload_libraries = 'pg_cron'`,
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

export async function startPostgres(config: StackConfig): Promise<void> {
  if (await isPostgresRunning(config)) return;
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

/** psql against the stack's cluster; throws with psql's output on the first error. */
export function psql(config: StackConfig, args: string[]): Promise<string> {
  return run([
    "psql",
    "-X",
    "-q",
    "-v",
    "ON_ERROR_STOP=1",
    "-h",
    "127.0.0.1",
    "-p",
    String(config.dbPort),
    "-U",
    "postgres",
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

/** Applies supabase/migrations with the real Supabase CLI, as on a hosted project. */
export async function pushMigrations(config: StackConfig): Promise<void> {
  const cli = join(config.root, "scripts/tools/node_modules/.bin/supabase");
  const out = await new Deno.Command(cli, {
    args: ["db", "push", "--db-url", dbUrl(config), "--yes", "--include-all"],
    cwd: config.root,
    stdout: "piped",
    stderr: "piped",
    env: { SUPABASE_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1", ...supabaseCliEnv(config) },
  }).output();
  if (!out.success) {
    throw new Error(
      "supabase db push failed:\n" + new TextDecoder().decode(out.stdout) +
        new TextDecoder().decode(out.stderr),
    );
  }
}
