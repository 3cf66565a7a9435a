/**
 * `deno task db:diff <name>` — writes `supabase/migrations/<timestamp>_<name>.sql`, the migration
 * that takes a database from every existing migration to `supabase/schemas/`, as
 * `supabase db diff -f <name>` does with Docker. Two throwaway clusters (scripts/db/scratch.ts) get
 * the migrations and the schema files; Supabase's diff engine, `@supabase/pg-delta` (the one the
 * CLI uses since Declarative Schemas 2.0), plans the DDL between them with its Supabase profile.
 * Then the migration is applied to the first cluster and its catalog must equal the second's
 * (scripts/db/catalog.ts): whatever the engine left out is reported, never silently dropped.
 *
 * What the engine does not give us, and how it is covered:
 * - pg_cron jobs: written here as idempotent `cron.schedule(name, …)` / `cron.unschedule` by name,
 *   in the guard the schema files use (only in the database pg_cron runs in), instead of the
 *   engine's unguarded `cron.schedule_in_database`.
 * - policies on `storage.objects` and `realtime.messages`: the Supabase profile leaves Supabase's
 *   schemas out; our own policies there are put back in scope.
 * - grants the plan leaves out: a function the plan creates gets the schema's default privileges
 *   (Supabase grants EXECUTE on new functions in `public` to anon and authenticated) and the plan
 *   does not revoke them, so the grants that still differ after the plan are written from the
 *   catalog (revoke, then grant what the schema has).
 * - rows the schema files seed (error codes, steps, settings, the bucket): no engine diffs data;
 *   they are listed, to be written into the migration by hand.
 *
 * Exit status: 0 written or nothing to change (nothing written), 1 written but incomplete (the
 * listed differences must be added by hand) or failed, 2 usage.
 */
import { join } from "node:path";
import pg from "pg";
import { plan, resolveProfile, supabaseProfile } from "@supabase/pg-delta";
import { renderPlanFiles } from "@supabase/pg-delta/frontends";
import { repoRoot } from "../stack/config.ts";
import {
  type CatalogDifference,
  compareCatalogs,
  describeDifferences,
  readCatalog,
} from "./catalog.ts";
import { type ScratchDb, sqlFiles, withScratchDatabases } from "./scratch.ts";

/** The engine and its version, as pinned in deno.json (named in each migration's header). */
export const ENGINE = "@supabase/pg-delta 1.0.0-alpha.34";

/** What a migration's name may be: the `<name>` of `<timestamp>_<name>.sql`. */
export const NAME_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;

/** Supabase's schemas where this project owns policies (on storage.objects, realtime.messages). */
const OWN_POLICIES_IN = ["storage", "realtime"];

/** The engine's Supabase profile, with our policies in Supabase's schemas and no cron intents. */
const profile = {
  ...supabaseProfile,
  policy: {
    ...supabaseProfile.policy!,
    id: "ai-subs",
    filter: [
      { match: { kind: "extensionIntent" }, action: "exclude" as const },
      {
        match: { all: [{ kind: "policy" }, { schema: OWN_POLICIES_IN }] },
        action: "include" as const,
      },
      ...(supabaseProfile.policy!.filter ?? []),
    ],
  },
};

export interface Diff {
  /** The migration: one SQL text per transaction, in order (usually one). */
  files: string[];
  /** First lines of statements that drop or rewrite data, for the reviewer. */
  destructive: string[];
  /** Seeded rows that differ: data, to be written into the migration by hand. */
  rows: CatalogDifference[];
  /** Anything else the migration does not reach (an engine gap), to be added by hand. */
  missing: CatalogDifference[];
}

interface CronJob {
  jobname: string;
  schedule: string;
  command: string;
}

async function cronJobs(db: ScratchDb): Promise<Map<string, CronJob>> {
  const out = await db.psql([
    "-A",
    "-t",
    "-c",
    "select coalesce(json_agg(json_build_object('jobname', jobname, 'schedule', schedule, " +
    "'command', command) order by jobname), '[]') from cron.job where jobname is not null",
  ]);
  return new Map((JSON.parse(out) as CronJob[]).map((job) => [job.jobname, job]));
}

const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

/**
 * The pg_cron part: schedules by name (pg_cron replaces a job of the same name) and removals,
 * guarded as in supabase/schemas/090_cron.sql. Null when the jobs are the same.
 */
export function cronMigration(
  current: Map<string, CronJob>,
  wanted: Map<string, CronJob>,
): string | null {
  const statements: string[] = [];
  for (const [name, job] of wanted) {
    const had = current.get(name);
    if (had?.schedule === job.schedule && had.command === job.command) continue;
    statements.push(
      `perform cron.schedule(${literal(name)}, ${literal(job.schedule)}, ${literal(job.command)});`,
    );
  }
  for (const name of current.keys()) {
    if (wanted.has(name)) continue;
    statements.push(
      `perform cron.unschedule(jobid) from cron.job where jobname = ${literal(name)};`,
    );
  }
  if (!statements.length) return null;
  const body = statements.map((s) => `    ${s}`).join("\n");
  return `-- pg_cron jobs, by name (written by db:diff: no engine here manages them). Only in the
-- database pg_cron runs in (cron.database_name), as supabase/schemas/090_cron.sql.
do $cron$
begin
  if exists (select 1 from pg_available_extensions where name = 'pg_cron')
     and current_database() = coalesce(current_setting('cron.database_name', true), 'postgres') then
    create extension if not exists pg_cron;
${body}
  end if;
end $cron$;
`;
}

/** One grant fact of scripts/db/catalog.ts: `grant <kind> <object> to <role>`. */
const GRANT_KEY = /^grant (table|column|function|schema) (.+) to (\S+)$/;

/**
 * Statements that make the grants of `differences` what the schema has (the `right` side):
 * revoke everything the role holds on the object, then grant the schema's privileges.
 */
export function grantFixes(differences: CatalogDifference[]): string | null {
  const statements: string[] = [];
  for (const d of differences) {
    const m = d.key.match(GRANT_KEY);
    if (!m) continue;
    const [, kind, object, grantee] = m;
    const role = grantee === "public" ? "public" : grantee;
    let on: string;
    let column = "";
    if (kind === "column") {
      const dot = object.lastIndexOf(".");
      on = `table ${object.slice(0, dot)}`;
      column = ` (${object.slice(dot + 1)})`;
    } else on = `${kind} ${object}`;
    statements.push(`revoke all${column} on ${on} from ${role};`);
    const privileges = (d.right ?? "").split(",").filter(Boolean);
    for (const grantable of [false, true]) {
      const list = privileges.filter((p) => p.endsWith("*") === grantable)
        .map((p) => `${p.replace("*", "").toLowerCase()}${column}`);
      if (list.length) {
        statements.push(
          `grant ${list.join(", ")} on ${on} to ${role}${grantable ? " with grant option" : ""};`,
        );
      }
    }
  }
  if (!statements.length) return null;
  return `-- Grants the plan leaves out (written by db:diff from the catalog: new functions get the\n` +
    `-- schema's default privileges, which the plan does not revoke).\n${statements.join("\n")}\n`;
}

/**
 * Plans the migration from `migrationsDir` to `schemasDir` (folders relative to the repository)
 * and checks it on a scratch copy.
 */
export async function diffSchemas(
  schemasDir = "supabase/schemas",
  migrationsDir = "supabase/migrations",
): Promise<Diff> {
  const [schemaFiles, migrationFiles] = await Promise.all([
    sqlFiles(schemasDir),
    sqlFiles(migrationsDir),
  ]);
  return await withScratchDatabases(2, async ([current, wanted]) => {
    await Promise.all([current.applyFiles(migrationFiles), wanted.applyFiles(schemaFiles)]);
    const currentPool = new pg.Pool({ connectionString: current.url, max: 2 });
    const wantedPool = new pg.Pool({ connectionString: wanted.url, max: 2 });
    let files: string[];
    let destructive: string[];
    try {
      const ctx = await resolveProfile(currentPool, profile);
      const [from, to] = await Promise.all([ctx.extract(currentPool), ctx.extract(wantedPool)]);
      const thePlan = plan(from.factBase, to.factBase, { ...ctx.planOptions, renames: "off" });
      destructive = thePlan.actions
        .filter((a) => a.verb === "drop" || a.dataLoss === "destructive")
        .map((a) => a.sql.split("\n")[0]);
      files = renderPlanFiles(thePlan, { allowDrops: true }).files.map((f) => f.contents);
    } finally {
      await Promise.all([currentPool.end(), wantedPool.end()]);
    }
    const cron = cronMigration(await cronJobs(current), await cronJobs(wanted));
    if (cron) {
      if (files.length) files[files.length - 1] = `${files.at(-1)!.trimEnd()}\n\n${cron}`;
      else files = [cron];
    }
    // The check: the migration on top of the migrations must give the schema's catalog.
    for (const [i, sql] of files.entries()) await applySql(current, sql, `part ${i + 1}`);
    const wantedCatalog = await readCatalog(wanted);
    let left = compareCatalogs(await readCatalog(current), wantedCatalog);
    const grants = grantFixes(left);
    if (grants) {
      await applySql(current, grants, "the grants");
      files = files.length
        ? [...files.slice(0, -1), `${files.at(-1)!.trimEnd()}\n\n${grants}`]
        : [grants];
      left = compareCatalogs(await readCatalog(current), wantedCatalog);
    }
    return {
      files,
      destructive,
      rows: left.filter((d) => d.key.startsWith("row ")),
      missing: left.filter((d) => !d.key.startsWith("row ")),
    };
  });
}

/** Applies `sql` in one transaction, or throws with the SQL and the error. */
async function applySql(db: ScratchDb, sql: string, what: string): Promise<void> {
  const path = await Deno.makeTempFile({ suffix: ".sql" });
  try {
    await Deno.writeTextFile(path, sql);
    await db.applyFiles([path]);
  } catch (e) {
    throw new Error(
      `the planned migration (${what}) does not apply to the migrations' database:\n` +
        `${(e as Error).message}\n--- the SQL ---\n${sql}`,
    );
  } finally {
    await Deno.remove(path);
  }
}

/** `<timestamp>` for a new migration: now (UTC), or just after the newest existing one. */
export function nextVersion(existing: string[], now = new Date()): string {
  const stamp = now.toISOString().replace(/\D/g, "").slice(0, 14);
  const newest = existing.map((name) => name.split("_")[0]).sort().at(-1);
  if (!newest || stamp > newest) return stamp;
  return String(BigInt(newest) + 1n);
}

function header(name: string, part: number, parts: number): string {
  return `-- ${name}${parts > 1 ? ` (part ${part} of ${parts}, each one transaction)` : ""}\n` +
    `-- Written by \`deno task db:diff ${name}\` (${ENGINE}): what takes a database from\n` +
    `-- the migrations before it to supabase/schemas. Review it; data changes are written by hand.\n\n`;
}

/** The command: returns the exit status. */
export async function main(args: string[]): Promise<number> {
  const name = args[0];
  if (args.length !== 1 || !NAME_PATTERN.test(name)) {
    console.error(
      `usage: deno task db:diff <name>\n  <name>: lowercase letters, digits and _, starting with ` +
        `a letter, at most 63 characters (e.g. add_job_labels)${
          name === undefined ? "" : `; got ${JSON.stringify(args.join(" "))}`
        }`,
    );
    return 2;
  }
  const migrationsDir = join(repoRoot, "supabase/migrations");
  const existing = (await sqlFiles("supabase/migrations")).map((p) =>
    p.slice(migrationsDir.length + 1)
  );
  const clash = existing.find((file) => file.replace(/^\d+_/, "").replace(/\.sql$/, "") === name);
  if (clash) {
    console.error(
      `db:diff: a migration named ${name} exists already (${clash}): choose another name`,
    );
    return 2;
  }
  const t0 = performance.now();
  const diff = await diffSchemas();
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  if (!diff.files.length) {
    if (!diff.rows.length && !diff.missing.length) {
      console.log(
        `db:diff: supabase/schemas equals supabase/migrations: nothing to change, no file written ` +
          `(${seconds} s)`,
      );
      return 0;
    }
    console.error(
      `db:diff: no schema change, but these differences need a migration written by hand ` +
        `(supabase migration new ${name}):\n` +
        describeDifferences([...diff.missing, ...diff.rows], ["migrations", "schemas"], 50),
    );
    return 1;
  }
  let version = nextVersion(existing);
  const written: string[] = [];
  for (const [i, sql] of diff.files.entries()) {
    const file = `${version}_${name}${i ? `_${i + 1}` : ""}.sql`;
    await Deno.writeTextFile(
      join(migrationsDir, file),
      header(name, i + 1, diff.files.length) + sql.trimEnd() + "\n",
    );
    written.push(`supabase/migrations/${file}`);
    version = String(BigInt(version) + 1n);
  }
  console.log(`db:diff: wrote ${written.join(", ")} (${seconds} s)`);
  for (const line of diff.destructive) console.warn(`  destructive, review it: ${line}`);
  if (diff.rows.length || diff.missing.length) {
    console.error(
      `db:diff: the migration does not cover these differences yet; add them to it by hand:\n` +
        describeDifferences([...diff.missing, ...diff.rows], ["migrations", "schemas"], 50),
    );
    return 1;
  }
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`db:diff: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
