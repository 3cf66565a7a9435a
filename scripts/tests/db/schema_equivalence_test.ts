/**
 * Proves that supabase/schemas (the source of truth) and supabase/migrations (what
 * `supabase db push` applies) produce the same database schema: two scratch databases on the
 * stack's cluster get Supabase's base, then one the schema files and the other the migrations,
 * and their `pg_dump --schema-only` must match.
 *
 *   STACK_DB_PORT=... deno test -A scripts/tests/db/schema_equivalence_test.ts
 */
import { stackConfig } from "../../stack/config.ts";
import { SUPERUSER } from "../../stack/hosted_roles.ts";
import { join } from "node:path";
import { buildMigration, firstMigration, schemaFiles } from "../../db/build_migration.ts";

const config = stackConfig();
// The base needs a superuser (it is the platform's part); both databases are built the same way.
const connection = ["-h", "127.0.0.1", "-p", String(config.dbPort), "-U", SUPERUSER];

async function run(cmd: string, args: string[], stdin?: string): Promise<string> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

const psql = (db: string, args: string[], stdin?: string) =>
  run("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", ...connection, "-d", db, ...args], stdin);

/** base.sql without the cluster-wide role statements the stack's cluster already ran. */
async function baseWithoutRoles(): Promise<string> {
  const base = await Deno.readTextFile(join(config.root, "scripts/stack/sql/base.sql"));
  return base.split("\n").filter((line) => !/^\s*(create|alter) role\b/i.test(line)).join("\n");
}

/** pg_dump output without what differs between any two dumps (comments, restrict keys). */
function normalize(dump: string): string {
  return dump.split("\n")
    .filter((line) => !line.startsWith("--") && !/^\\(un)?restrict\b/.test(line))
    .filter((line) => line.trim() !== "")
    .join("\n");
}

async function migrationFiles(): Promise<string[]> {
  const dir = join(config.root, "supabase/migrations");
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.endsWith(".sql")) names.push(join(dir, entry.name));
  }
  return names.sort();
}

Deno.test("the first migration is the schema files concatenated in order", async () => {
  const wanted = await buildMigration();
  const current = await Deno.readTextFile(firstMigration);
  if (current !== wanted) {
    throw new Error("stale migration: run deno run -A scripts/db/build_migration.ts");
  }
});

Deno.test("schemas/ and migrations/ produce the same schema", async () => {
  const suffix = crypto.randomUUID().slice(0, 8);
  const fromSchemas = `equiv_schemas_${suffix}`;
  const fromMigrations = `equiv_migrations_${suffix}`;
  const base = await baseWithoutRoles();
  try {
    for (const db of [fromSchemas, fromMigrations]) {
      await psql("postgres", ["-c", `create database ${db} template template0`]);
      await psql(db, ["-f", "-"], base);
    }
    for (const file of await schemaFiles()) await psql(fromSchemas, ["-f", file]);
    for (const file of await migrationFiles()) await psql(fromMigrations, ["-f", file]);
    const [a, b] = await Promise.all(
      [fromSchemas, fromMigrations].map((db) =>
        run("pg_dump", ["--schema-only", ...connection, "-d", db])
      ),
    );
    const left = normalize(a).split("\n");
    const right = normalize(b).split("\n");
    if (left.length < 100) throw new Error("the dump is suspiciously small");
    const firstDifference = left.findIndex((line, i) => line !== right[i]);
    if (firstDifference !== -1 || left.length !== right.length) {
      const i = firstDifference === -1 ? Math.min(left.length, right.length) : firstDifference;
      throw new Error(
        `schemas differ at line ${i + 1}:\n  schemas:    ${left[i]}\n  migrations: ${right[i]}`,
      );
    }
  } finally {
    for (const db of [fromSchemas, fromMigrations]) {
      await psql("postgres", ["-c", `drop database if exists ${db} with (force)`]).catch(() => {});
    }
  }
});
