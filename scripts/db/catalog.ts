/**
 * A database's schema as a set of named facts read from the catalog — one line per table, column,
 * default, constraint, index, view, sequence, type, function (with its body), trigger, policy, RLS
 * flag, grant (table, column, function, schema), publication member, comment, pg_cron job and the
 * rows the schema files seed — so two databases compare ignoring the order things were created in.
 * Used by the equivalence test (schemas/ fresh = migrations in order) and by `db:diff` to check
 * the migration it wrote. Nothing is filtered by schema: both sides start from the same base, so
 * the base compares equal and only what the project made can differ.
 */
import type { ScratchDb } from "./scratch.ts";

/** Fact key (kind + identity) → its definition. */
export type Catalog = Map<string, string>;

/** Schemas that are PostgreSQL's own. */
const system = `('pg_catalog', 'information_schema', 'pg_toast')`;
const userNs = `n.nspname not in ${system} and n.nspname not like 'pg_temp%' and ` +
  `n.nspname not like 'pg_toast_temp%'`;

/** One query per kind of fact, each returning rows (key, value). */
const queries: Record<string, string> = {
  relation: `
    select format('%I.%I', n.nspname, c.relname),
      concat_ws(' ', 'kind', c.relkind, 'rls', c.relrowsecurity, 'force', c.relforcerowsecurity,
        'owner', pg_get_userbyid(c.relowner), 'persistence', c.relpersistence,
        'options', c.reloptions::text)
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where ${userNs} and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')`,
  column: `
    select format('%I.%I.%I', n.nspname, c.relname, a.attname),
      concat_ws(' ', format_type(a.atttypid, a.atttypmod), case when a.attnotnull then 'not null' end,
        'default', pg_get_expr(d.adbin, d.adrelid), 'identity', nullif(a.attidentity, ''),
        'generated', nullif(a.attgenerated, ''), 'position', a.attnum)
    from pg_attribute a join pg_class c on c.oid = a.attrelid
      join pg_namespace n on n.oid = c.relnamespace
      left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where ${userNs} and c.relkind in ('r', 'p', 'v', 'm', 'f') and a.attnum > 0
      and not a.attisdropped`,
  constraint: `
    select format('%I.%I.%I', n.nspname, coalesce(c.relname, t.typname), k.conname),
      pg_get_constraintdef(k.oid)
    from pg_constraint k join pg_namespace n on n.oid = k.connamespace
      left join pg_class c on c.oid = k.conrelid left join pg_type t on t.oid = k.contypid
    where ${userNs}`,
  index: `
    select format('%I.%I', n.nspname, c.relname), pg_get_indexdef(c.oid)
    from pg_index i join pg_class c on c.oid = i.indexrelid
      join pg_namespace n on n.oid = c.relnamespace
    where ${userNs}`,
  view: `
    select format('%I.%I', n.nspname, c.relname), pg_get_viewdef(c.oid)
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where ${userNs} and c.relkind in ('v', 'm')`,
  sequence: `
    select format('%I.%I', n.nspname, c.relname),
      concat_ws(' ', format_type(s.seqtypid, null), s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
        s.seqcache, s.seqcycle)
    from pg_sequence s join pg_class c on c.oid = s.seqrelid
      join pg_namespace n on n.oid = c.relnamespace
    where ${userNs}`,
  type: `
    select format('%I.%I', n.nspname, t.typname),
      concat_ws(' ', t.typtype, format_type(t.typbasetype, t.typtypmod), t.typnotnull,
        (select string_agg(e.enumlabel, ',' order by e.enumsortorder) from pg_enum e
          where e.enumtypid = t.oid))
    from pg_type t join pg_namespace n on n.oid = t.typnamespace
    where ${userNs} and t.typtype in ('e', 'd', 'r')
      or (${userNs} and t.typtype = 'c' and (select c.relkind from pg_class c
        where c.oid = t.typrelid) = 'c')`,
  function: `
    select format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
      case when p.prokind = 'a' then 'aggregate' else pg_get_functiondef(p.oid) end
        || ' owner ' || pg_get_userbyid(p.proowner)
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where ${userNs}`,
  trigger: `
    select format('%I.%I.%I', n.nspname, c.relname, t.tgname),
      pg_get_triggerdef(t.oid) || ' enabled ' || t.tgenabled::text
    from pg_trigger t join pg_class c on c.oid = t.tgrelid
      join pg_namespace n on n.oid = c.relnamespace
    where ${userNs} and not t.tgisinternal`,
  policy: `
    select format('%I.%I.%I', schemaname, tablename, policyname),
      concat_ws(' ', permissive, cmd, 'to', roles::text, 'using', qual, 'check', with_check)
    from pg_policies`,
  // Privileges one grantee at a time, so the order of the ACL array does not matter.
  grant: `
    select format('table %I.%I to %s', n.nspname, c.relname,
        coalesce(nullif(pg_get_userbyid(x.grantee), '-'), 'public')),
      string_agg(x.privilege_type || case when x.is_grantable then '*' else '' end, ','
        order by x.privilege_type)
    from pg_class c join pg_namespace n on n.oid = c.relnamespace,
      aclexplode(coalesce(c.relacl, acldefault(case c.relkind when 'S' then 's'::"char" else 'r'::"char" end,
        c.relowner))) x
    where ${userNs} and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
    group by 1
    union all
    select format('column %I.%I.%I to %s', n.nspname, c.relname, a.attname,
        coalesce(nullif(pg_get_userbyid(x.grantee), '-'), 'public')),
      string_agg(x.privilege_type || case when x.is_grantable then '*' else '' end, ','
        order by x.privilege_type)
    from pg_attribute a join pg_class c on c.oid = a.attrelid
      join pg_namespace n on n.oid = c.relnamespace, aclexplode(a.attacl) x
    where ${userNs} and a.attnum > 0 and not a.attisdropped
    group by 1
    union all
    select format('function %I.%I(%s) to %s', n.nspname, p.proname,
        pg_get_function_identity_arguments(p.oid),
        coalesce(nullif(pg_get_userbyid(x.grantee), '-'), 'public')),
      string_agg(x.privilege_type || case when x.is_grantable then '*' else '' end, ','
        order by x.privilege_type)
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace,
      aclexplode(coalesce(p.proacl, acldefault('f'::"char", p.proowner))) x
    where ${userNs}
    group by 1
    union all
    select format('schema %I to %s', n.nspname,
        coalesce(nullif(pg_get_userbyid(x.grantee), '-'), 'public')),
      string_agg(x.privilege_type || case when x.is_grantable then '*' else '' end, ','
        order by x.privilege_type)
    from pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n'::"char", n.nspowner))) x
    where ${userNs}
    group by 1`,
  "default privilege": `
    select format('%s in %s on %s', pg_get_userbyid(d.defaclrole),
        coalesce(d.defaclnamespace::regnamespace::text, 'database'), d.defaclobjtype),
      d.defaclacl::text
    from pg_default_acl d`,
  schema: `
    select n.nspname, pg_get_userbyid(n.nspowner) from pg_namespace n where ${userNs}`,
  extension: `
    select e.extname, e.extversion || ' in ' || e.extnamespace::regnamespace::text
    from pg_extension e`,
  publication: `
    select format('%I %I.%I', p.pubname, n.nspname, c.relname), 'member'
    from pg_publication_rel r join pg_publication p on p.oid = r.prpubid
      join pg_class c on c.oid = r.prrelid join pg_namespace n on n.oid = c.relnamespace`,
  comment: `
    select format('%s %s', d.classoid::regclass, case d.classoid
        when 'pg_class'::regclass then d.objoid::regclass::text ||
          coalesce('.' || (select attname from pg_attribute
            where attrelid = d.objoid and attnum = d.objsubid and d.objsubid > 0), '')
        when 'pg_proc'::regclass then d.objoid::regprocedure::text
        else d.objoid::text end),
      d.description
    from pg_description d
    where d.classoid in ('pg_class'::regclass, 'pg_proc'::regclass)
      and (select n.nspname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where d.classoid = 'pg_class'::regclass and c.oid = d.objoid
        union all
        select n.nspname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where d.classoid = 'pg_proc'::regclass and p.oid = d.objoid) not in ${system}`,
};

/** pg_cron's jobs by name (only in the cluster's cron database: `cron.database_name`). */
const cronJobs = `
  select 'cron job', jobname, concat_ws(' ', schedule, 'run', command, 'in', database, 'as',
    username, case when active then 'active' else 'inactive' end)
  from cron.job`;

/**
 * Ordinary tables outside PostgreSQL's own schemas with the expression of their primary key and
 * the columns that differ on every apply (defaults of the time or a random value), to read the
 * rows that the schema files seed (error codes, the pipeline's steps, settings, the bucket).
 */
const seededTables = `
  select 'table', format('%I.%I', n.nspname, c.relname),
    coalesce((select string_agg('r.' || quote_ident(a.attname), ', ' order by a.attnum)
      from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
      where i.indrelid = c.oid and i.indisprimary), 'md5(r::text)') || E'\\x1e' ||
    coalesce((select string_agg(quote_literal(a.attname), ', ')
      from pg_attribute a join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where a.attrelid = c.oid and pg_get_expr(d.adbin, d.adrelid)
        ~* '(now|clock_timestamp|random|gen_random_uuid|uuid_generate_v4)\\(|current_timestamp'),
      '')
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where ${userNs} and c.relkind in ('r', 'p')
    and not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype = 'e')`;

/** Runs a query of rows (kind, key, value). */
async function facts(db: ScratchDb, sql: string): Promise<string[][]> {
  // Unit separator between fields, one record per line (newlines in values are escaped).
  const wrapped = `select concat_ws(E'\\x1f', k, replace(key, E'\\n', '\\n'),
    coalesce(replace(v, E'\\n', '\\n'), '')) from (${sql}) as q(k, key, v)`;
  const out = await db.psql(["-A", "-t", "-c", wrapped]);
  return out.split("\n").filter((line) => line !== "").map((line) => line.split("\x1f"));
}

/** Reads the catalog facts of `db` (well under a second). */
export async function readCatalog(db: ScratchDb): Promise<Catalog> {
  const catalog: Catalog = new Map();
  const add = (rows: string[][]) => {
    for (const [kind, key, value] of rows) {
      const name = `${kind} ${key}`;
      // Overloads or rows that repeat: keep every value.
      const previous = catalog.get(name);
      catalog.set(name, previous === undefined ? value : [previous, value].sort().join("\n"));
    }
  };
  add(
    await facts(
      db,
      Object.entries(queries).map(([kind, sql]) => `select ${pgLiteral(kind)}, * from (${sql}) q`)
        .join("\nunion all\n"),
    ),
  );
  const hasCron = (await db.psql(["-A", "-t", "-c", "select to_regclass('cron.job') is not null"]))
    .trim() === "t";
  if (hasCron) add(await facts(db, cronJobs));
  // Rows by primary key, so a changed row reads as one difference.
  const tables = (await facts(db, seededTables)).map((
    [, table, spec],
  ) => [table, ...spec.split("\x1e")]);
  if (tables.length) {
    add(
      await facts(
        db,
        tables.map(([table, key, volatile]) =>
          `select 'row', ${pgLiteral(table)} || ' ' || jsonb_build_array(${key})::text, ` +
          `(to_jsonb(r) - array[${volatile}]::text[])::text from ${table} r`
        ).join("\nunion all\n"),
      ),
    );
  }
  return catalog;
}

function pgLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** One difference between two catalogs: a fact only on one side, or different on each. */
export interface CatalogDifference {
  key: string;
  left: string | undefined;
  right: string | undefined;
}

/** The facts that differ between `left` and `right`, sorted by key. */
export function compareCatalogs(left: Catalog, right: Catalog): CatalogDifference[] {
  const keys = [...new Set([...left.keys(), ...right.keys()])].sort();
  return keys.filter((key) => left.get(key) !== right.get(key))
    .map((key) => ({ key, left: left.get(key), right: right.get(key) }));
}

/** Differences as lines for an error message, at most `limit` of them. */
export function describeDifferences(
  differences: CatalogDifference[],
  names: [string, string],
  limit = 20,
): string {
  const clip = (text: string | undefined) =>
    text === undefined ? "(absent)" : text.length > 300 ? text.slice(0, 300) + "…" : text;
  const lines = differences.slice(0, limit).map((d) =>
    `  ${d.key}\n    ${names[0]}: ${clip(d.left)}\n    ${names[1]}: ${clip(d.right)}`
  );
  if (differences.length > limit) lines.push(`  … and ${differences.length - limit} more`);
  return lines.join("\n");
}
