/**
 * Throwaway PostgreSQL 15 clusters for the schema tooling (`db:diff`, the equivalence test): the
 * stack's Postgres (Debian's server, the real pg_cron, the stack's pg_net and supabase_vault) with
 * Supabase's base (scripts/stack/sql/base.sql), one cluster per database so that each is its own
 * cluster's `postgres` database — the only one where pg_cron schedules jobs
 * (`cron.database_name`), as on a hosted project. No running stack is needed; everything is
 * removed afterwards.
 */
import { isAbsolute, join } from "node:path";
import { repoRoot, stackConfig } from "../stack/config.ts";
import { installExtensions } from "../stack/postgres.ts";

const pgBin = stackConfig().pgBin;
const isRoot = Deno.uid() === 0;

/** One scratch database: its URL and psql against it. */
export interface ScratchDb {
  url: string;
  port: number;
  /** Runs psql (ON_ERROR_STOP) with `args`, `stdin` as its input; throws with its output. */
  psql(args: string[], stdin?: string): Promise<string>;
  /** Applies SQL files in the given order, each in one transaction, as `supabase db push` does. */
  applyFiles(files: string[]): Promise<void>;
}

async function run(
  cmd: string[],
  opts: { asPostgres?: boolean; stdin?: string } = {},
): Promise<string> {
  const argv = opts.asPostgres && isRoot ? ["runuser", "-u", "postgres", "--", ...cmd] : cmd;
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(opts.stdin));
    await writer.close();
  }
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `${cmd.join(" ")} failed (${out.code}):\n${text}${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return text;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

const publicDefaults = ["tables", "sequences", "functions"].map((kind) =>
  `alter default privileges for role postgres in schema public grant all on ${kind} ` +
  "to anon, authenticated, service_role;"
).join("\n");

function scratchDb(port: number, user = "postgres"): ScratchDb {
  const url = `postgresql://${user}@127.0.0.1:${port}/postgres`;
  const psql = (args: string[], stdin?: string) =>
    run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, ...args], { stdin });
  return {
    url,
    port,
    psql,
    async applyFiles(files) {
      for (const file of files) await psql(["--single-transaction", "-f", file]);
    },
  };
}

/**
 * Runs `fn` with `count` fresh databases, each the `postgres` database of its own throwaway
 * cluster with Supabase's base applied, and removes them afterwards. About 2 s for two.
 */
export async function withScratchDatabases<T>(
  count: number,
  fn: (dbs: ScratchDb[]) => Promise<T>,
): Promise<T> {
  await installExtensions(stackConfig());
  const dir = await Deno.makeTempDir({ prefix: "ai-subs-scratch-" });
  await Deno.chmod(dir, 0o755);
  if (isRoot) await run(["chown", "postgres:postgres", dir]);
  const dataDirs = Array.from({ length: count }, (_, i) => join(dir, `pg${i}`));
  const started: string[] = [];
  try {
    // initdb once (about 1 s); the other clusters are copies of it.
    await run([
      join(pgBin, "initdb"),
      "-D",
      dataDirs[0],
      // As on the stack, the bootstrap superuser is supabase_admin: base.sql creates postgres.
      "-U",
      "supabase_admin",
      "--auth=trust",
      "-E",
      "UTF8",
      "--locale=C.UTF-8",
      "--no-sync",
    ], { asPostgres: true });
    for (const copy of dataDirs.slice(1)) {
      await run(["cp", "-a", dataDirs[0], copy], { asPostgres: true });
    }
    const base = await Deno.readTextFile(join(repoRoot, "scripts/stack/sql/base.sql"));
    return await fn(
      await Promise.all(dataDirs.map(async (data) => {
        const port = freePort();
        const settings = [
          `port = ${port}`,
          `listen_addresses = '127.0.0.1'`,
          `unix_socket_directories = '${dir}'`,
          `shared_preload_libraries = 'pg_cron'`,
          `cron.database_name = 'postgres'`,
          `max_connections = 40`,
          `shared_buffers = 16MB`,
          `fsync = off`,
          `synchronous_commit = off`,
          `full_page_writes = off`,
          `timezone = 'UTC'`,
        ];
        await run(["sh", "-c", `cat >> '${join(data, "postgresql.conf")}'`], {
          asPostgres: true,
          stdin: settings.join("\n") + "\n",
        });
        await run([
          join(pgBin, "pg_ctl"),
          "start",
          "-w",
          "-t",
          "30",
          "-D",
          data,
          "-l",
          data + ".log",
        ], {
          asPostgres: true,
        });
        started.push(data);
        const db = scratchDb(port);
        const admin = scratchDb(port, "supabase_admin");
        await admin.psql(["-f", "-"], base);
        // A scratch database compares schemas, not privileges: postgres applies everything as the
        // superuser it was before the stack made it hosted-like (scripts/tests/db/hosted_roles_test
        // checks the migrations as the non-superuser on the stack itself).
        await admin.psql(["-c", "alter role postgres superuser"]);
        // What postgres creates in public is open to the API roles by default, as on a project
        // (scripts/stack/sql/hosted_roles.sql): db:diff must see and revoke what a schema does not
        // grant.
        await db.psql(["-c", publicDefaults]);
        return db;
      })),
    );
  } finally {
    await Promise.all(
      started.map((data) =>
        run([join(pgBin, "pg_ctl"), "stop", "-w", "-m", "immediate", "-D", data], {
          asPostgres: true,
        }).catch((e) => console.error(`stopping scratch cluster ${data}: ${e}`))
      ),
    );
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** The `.sql` files of a folder (relative to the repository), in name order (how they apply). */
export async function sqlFiles(folder: string): Promise<string[]> {
  const dir = isAbsolute(folder) ? folder : join(repoRoot, folder);
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.endsWith(".sql")) names.push(entry.name);
  }
  return names.sort().map((name) => join(dir, name));
}
