/**
 * The schema cache: tables, views, columns and functions of the exposed schemas, and the
 * per-role settings PostgREST applies on impersonation. Loaded once, reloaded on
 * `NOTIFY pgrst, 'reload schema'` (as PostgREST) and, because migrations add objects while the
 * daemon runs, on a lookup miss (at most one reload in flight; misses within a short window
 * share it).
 */
import type { Sql } from "../context.ts";

export const EXPOSED_SCHEMAS = ["public", "graphql_public"] as const;

export interface Column {
  name: string;
  /** format_type() without modifier: what a text parameter is cast to before comparing. */
  type: string;
  /** pg_get_expr() of the default, for `Prefer: missing=default`. */
  defaultExpr: string | null;
}

export interface Relation {
  schema: string;
  name: string;
  columns: Map<string, Column>;
  primaryKey: string[];
}

export interface FunctionParam {
  name: string;
  type: string;
  hasDefault: boolean;
}

export interface RpcFunction {
  schema: string;
  name: string;
  /** Input parameters (IN, INOUT, VARIADIC), in order. */
  params: FunctionParam[];
  returnsSet: boolean;
  /** scalar: a base/domain/enum/array type; composite: a row; void: nothing. */
  returns: "scalar" | "composite" | "void";
  /** The type of a scalar result; the columns (name → type) of a composite one. */
  returnType: string;
  resultColumns: Map<string, string>;
  volatility: "i" | "s" | "v";
}

export interface Catalog {
  relations: Map<string, Relation>;
  functions: Map<string, RpcFunction[]>;
  /** Settings of anon/authenticated/service_role (`alter role … set`), e.g. statement_timeout. */
  roleSettings: Map<string, Record<string, string>>;
}

const key = (schema: string, name: string) => `${schema}.${name}`;

async function load(sql: Sql): Promise<Catalog> {
  const schemas = [...EXPOSED_SCHEMAS];
  const [columns, keys, functions, settings] = await Promise.all([
    sql<{ schema: string; rel: string; name: string; type: string; default_expr: string | null }[]>`
      select n.nspname as schema, c.relname as rel, a.attname as name,
             format_type(a.atttypid, null) as type,
             pg_get_expr(d.adbin, d.adrelid) as default_expr
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      left join pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum and a.attgenerated = ''
      where n.nspname = any(${schemas}) and c.relkind in ('r', 'v', 'm', 'f', 'p')
      order by c.oid, a.attnum`,
    sql<{ schema: string; rel: string; cols: string[] }[]>`
      select n.nspname as schema, c.relname as rel,
             array(select a.attname::text from unnest(i.indkey) with ordinality k(attnum, ord)
                   join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
                   order by k.ord) as cols
      from pg_index i
      join pg_class c on c.oid = i.indrelid
      join pg_namespace n on n.oid = c.relnamespace
      where i.indisprimary and n.nspname = any(${schemas})`,
    sql<
      {
        schema: string;
        name: string;
        arg_names: string[] | null;
        arg_types: string[];
        arg_modes: string[] | null;
        n_defaults: number;
        returns_set: boolean;
        ret_typtype: string;
        ret_type: string;
        has_out: boolean;
        ret_cols: string[][] | null;
        volatility: "i" | "s" | "v";
      }[]
    >`
      select n.nspname as schema, p.proname as name, p.proargnames::text[] as arg_names,
             array(select format_type(t, null) from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) t)
               as arg_types,
             p.proargmodes::text[] as arg_modes, p.pronargdefaults::int as n_defaults,
             p.proretset as returns_set, t.typtype::text as ret_typtype,
             format_type(p.prorettype, null) as ret_type,
             coalesce('o' = any(p.proargmodes) or 't' = any(p.proargmodes) or 'b' = any(p.proargmodes), false)
               as has_out,
             p.provolatile::text as volatility,
             (select array_agg(array[a.attname::text, format_type(a.atttypid, null)] order by a.attnum)
              from pg_attribute a
              where a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped) as ret_cols
      from pg_proc p
      join pg_namespace n on n.oid = p.pronamespace
      join pg_type t on t.oid = p.prorettype
      where n.nspname = any(${schemas}) and p.prokind = 'f'`,
    sql<{ role: string; config: string[] }[]>`
      select r.rolname as role, s.setconfig as config
      from pg_db_role_setting s join pg_roles r on r.oid = s.setrole
      where r.rolname in ('anon', 'authenticated', 'service_role')
        and s.setdatabase in (0, (select oid from pg_database where datname = current_database()))
      order by s.setdatabase`,
  ]);

  const relations = new Map<string, Relation>();
  for (const c of columns) {
    const k = key(c.schema, c.rel);
    let rel = relations.get(k);
    if (!rel) {
      rel = { schema: c.schema, name: c.rel, columns: new Map(), primaryKey: [] };
      relations.set(k, rel);
    }
    rel.columns.set(c.name, { name: c.name, type: c.type, defaultExpr: c.default_expr });
  }
  for (const k of keys) {
    const rel = relations.get(key(k.schema, k.rel));
    if (rel) rel.primaryKey = k.cols;
  }

  const fns = new Map<string, RpcFunction[]>();
  for (const f of functions) {
    const modes = f.arg_modes ?? f.arg_types.map(() => "i");
    const inputs = f.arg_types.map((type, i) => ({
      type,
      mode: modes[i],
      name: f.arg_names?.[i] ?? "",
    }))
      .filter((a) => a.mode === "i" || a.mode === "b" || a.mode === "v");
    const firstDefault = inputs.length - f.n_defaults;
    const composite = f.ret_typtype === "c" || (f.ret_type === "record" && f.has_out);
    const outputs = f.arg_types.map((type, i) => [f.arg_names?.[i] ?? "", type, modes[i]])
      .filter(([, , mode]) => mode === "o" || mode === "t" || mode === "b");
    const resultColumns = new Map(
      (f.ret_cols ?? outputs).map(([name, type]) => [name, type] as [string, string]),
    );
    const fn: RpcFunction = {
      schema: f.schema,
      name: f.name,
      params: inputs.map((a, i) => ({ name: a.name, type: a.type, hasDefault: i >= firstDefault })),
      returnsSet: f.returns_set,
      returns: f.ret_type === "void" ? "void" : composite ? "composite" : "scalar",
      returnType: f.ret_type,
      resultColumns,
      volatility: f.volatility,
    };
    const k = key(f.schema, f.name);
    fns.set(k, [...(fns.get(k) ?? []), fn]);
  }

  const roleSettings = new Map<string, Record<string, string>>();
  for (const s of settings) {
    const entries = roleSettings.get(s.role) ?? {};
    for (const kv of s.config) {
      const at = kv.indexOf("=");
      entries[kv.slice(0, at)] = kv.slice(at + 1);
    }
    roleSettings.set(s.role, entries);
  }
  return { relations, functions: fns, roleSettings };
}

/** The cached catalog with reload-on-miss. */
export class SchemaCache {
  #current?: Catalog;
  #loading?: Promise<Catalog>;
  #loadedAt = 0;

  constructor(private readonly sql: Sql) {}

  /** Starts listening for PostgREST's reload notification. */
  async listen(): Promise<void> {
    await this.sql.listen("pgrst", () => {
      this.#current = undefined;
      this.#loadedAt = 0;
    });
  }

  get(): Promise<Catalog> {
    if (this.#current) return Promise.resolve(this.#current);
    return this.reload();
  }

  /** Reloads, unless a reload finished in the last 100 ms (a burst of misses shares one). */
  reload(): Promise<Catalog> {
    if (this.#current && performance.now() - this.#loadedAt < 100) {
      return Promise.resolve(this.#current);
    }
    this.#loading ??= load(this.sql).then((c) => {
      this.#current = c;
      this.#loadedAt = performance.now();
      return c;
    }).finally(() => (this.#loading = undefined));
    return this.#loading;
  }

  async relation(schema: string, name: string): Promise<Relation | undefined> {
    return (await this.get()).relations.get(key(schema, name)) ??
      (await this.reload()).relations.get(key(schema, name));
  }

  async functions(schema: string, name: string): Promise<RpcFunction[]> {
    return (await this.get()).functions.get(key(schema, name)) ??
      (await this.reload()).functions.get(key(schema, name)) ?? [];
  }
}
