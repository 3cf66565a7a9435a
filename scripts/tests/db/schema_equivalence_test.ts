/**
 * supabase/schemas (the source of truth) applied to a fresh database must equal every migration in
 * supabase/migrations applied in order (what `supabase db push` gives a deployed project), compared
 * on the catalog ignoring order (scripts/db/catalog.ts): tables, columns, defaults, constraints,
 * indexes, functions and their bodies, triggers, policies, RLS flags, table/column/function grants,
 * publication members, comments, pg_cron jobs and seeded rows. A schema change made without a
 * migration (`deno task db:diff <name>`) fails here; the second step proves that it would, on
 * changes of each kind applied on top of schemas/.
 *
 * Needs PostgreSQL 15 with pg_cron installed (scripts/packages.txt), not a running stack: each side
 * is its own throwaway cluster (scripts/db/scratch.ts).
 *
 *   deno test -A scripts/tests/db/schema_equivalence_test.ts
 */
import { sqlFiles, withScratchDatabases } from "../../db/scratch.ts";
import {
  type Catalog,
  compareCatalogs,
  describeDifferences,
  readCatalog,
} from "../../db/catalog.ts";

/** Schema changes of each kind the catalog must see, each with the fact it changes. */
const changes: { sql: string; fact: string }[] = [
  {
    // A function body: a comment at the end of tick()'s body.
    sql: String.raw`do $$ begin execute regexp_replace(
        pg_get_functiondef('public.tick()'::regprocedure), '\$function\$\s*$',
        E'-- changed\n$function$'); end $$`,
    fact: "function public.tick()",
  },
  {
    sql: "grant references (filename) on public.jobs to anon",
    fact: "grant column public.jobs.filename to anon",
  },
  {
    sql: "revoke select on public.job_outputs from authenticated",
    fact: "grant table public.job_outputs to authenticated",
  },
  {
    sql: "alter policy media_select_own_folder on storage.objects using (false)",
    fact: "policy storage.objects.media_select_own_folder",
  },
  {
    sql: "select cron.schedule('ai-subs-tick', '*/2 * * * *', 'select public.tick()')",
    fact: "cron job ai-subs-tick",
  },
  {
    sql: "update private.error_codes set message = 'Changed.' where code = 'internal'",
    fact: `row private.error_codes ["internal"]`,
  },
  {
    sql: "alter table public.jobs disable trigger jobs_touch",
    fact: "trigger public.jobs.jobs_touch",
  },
  { sql: "alter table public.jobs disable row level security", fact: "relation public.jobs" },
  {
    sql: "alter table public.jobs alter column filename set default 'x'",
    fact: "column public.jobs.filename",
  },
  {
    sql: "create index jobs_changed_idx on public.jobs (filename)",
    fact: "index public.jobs_changed_idx",
  },
];

Deno.test("schemas/ and migrations/ make the same database", async (t) => {
  const schemaFiles = await sqlFiles("supabase/schemas");
  const migrationFiles = await sqlFiles("supabase/migrations");
  await withScratchDatabases(3, async ([fromMigrations, fromSchemas, changed]) => {
    await Promise.all([
      fromMigrations.applyFiles(migrationFiles),
      fromSchemas.applyFiles(schemaFiles),
      changed.applyFiles(schemaFiles),
    ]);
    for (const change of changes) await changed.psql(["-c", change.sql]);
    const [migrations, schemas, withChanges]: Catalog[] = await Promise.all(
      [fromMigrations, fromSchemas, changed].map(readCatalog),
    );

    await t.step("schemas/ fresh equals every migration in order", () => {
      // The comparison means something only if every kind of fact was read.
      for (
        const kind of ["function ", "policy ", "grant column ", "cron job ", "trigger ", "row "]
      ) {
        if (![...schemas.keys()].some((key) => key.startsWith(kind))) {
          throw new Error(`no "${kind.trim()}" facts were read from the schema`);
        }
      }
      const differences = compareCatalogs(migrations, schemas);
      if (differences.length) {
        throw new Error(
          `supabase/schemas differs from supabase/migrations in ${differences.length} facts; ` +
            `make the migration with: deno task db:diff <name>\n` +
            describeDifferences(differences, ["migrations", "schemas"]),
        );
      }
    });

    await t.step("a schema change without a migration is caught, of every kind", () => {
      const differing = new Set(compareCatalogs(schemas, withChanges).map((d) => d.key));
      const missed = changes.filter((change) => !differing.has(change.fact));
      if (missed.length) {
        throw new Error(
          `not detected:\n${missed.map((m) => `  ${m.fact} (after: ${m.sql})`).join("\n")}`,
        );
      }
    });
  });
});
