/**
 * One SQL statement per request, built from parsed requests and the schema cache: identifiers
 * quoted (and known to exist where it matters), every value a `$n` parameter. Every statement
 * returns the same three columns — the JSON body as text, the page's row count and the total
 * (or null) — so the body goes from Postgres to the client without being parsed, and cached
 * prepared statements never change their result type.
 */
import { HttpError } from "../http.ts";
import type { Column, Relation, RpcFunction } from "./catalog.ts";
import {
  type Condition,
  type Field,
  fieldLabel,
  type Filter,
  OPERATORS,
  type OrderTerm,
  type ReadRequest,
  type SelectItem,
} from "./query.ts";

export interface Statement {
  text: string;
  values: (string | null)[];
}

export interface Shape {
  /** Return the rows (`Prefer: return=representation`, every read). */
  rows: boolean;
  /** `Prefer: count=exact|planned|estimated`. */
  count: boolean;
  /** Accept `…;nulls=stripped`. */
  stripNulls: boolean;
}

export const ident = (name: string): string => `"${name.replaceAll('"', '""')}"`;
const literal = (text: string): string => `'${text.replaceAll("'", "''")}'`;
export const relationSql = (rel: { schema: string; name: string }): string =>
  `${ident(rel.schema)}.${ident(rel.name)}`;

/** A Postgres array literal of `values`, every element quoted, for `= any($n)`. */
export function arrayLiteral(values: string[]): string {
  return `{${values.map((v) => `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(",")}}`;
}

class Params {
  readonly values: (string | null)[] = [];
  add(value: string | null): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

function fieldSql(source: string, field: Field): string {
  let out = `${source}.${ident(field.name)}`;
  for (const step of field.json) {
    out += step.arrow + (/^-?\d+$/.test(step.key) ? step.key : literal(step.key));
  }
  return out;
}

const likePattern = (op: string, value: string) =>
  op === "like" || op === "ilike" ? value.replaceAll("*", "%") : value;

/** What filters run against: its SQL name and the type of each of its columns. */
export interface Source {
  sql: string;
  /** The name Postgres would use in "column x.y does not exist". */
  label: string;
  columnType(name: string): string | undefined;
}

export function relationSource(rel: Relation): Source {
  return {
    sql: relationSql(rel),
    label: rel.name,
    columnType: (name) => rel.columns.get(name)?.type,
  };
}

const TEXT_OPERATORS = new Set(["like", "ilike", "match", "imatch"]);

/**
 * The type a filter's value is cast to. Values are always sent as text (`$n::text::type`) so
 * the driver never re-serializes them by the type the server infers.
 */
function valueType(source: Source, field: Field, op?: string): string {
  if (op && TEXT_OPERATORS.has(op)) return "text";
  const type = source.columnType(field.name);
  if (type === undefined) {
    throw new HttpError(400, {
      code: "42703",
      message: `column ${source.label}.${field.name} does not exist`,
      details: null,
      hint: null,
    });
  }
  if (!field.json.length) return type;
  if (field.json[field.json.length - 1].arrow === "->>") return "text";
  return type === "json" ? "json" : "jsonb";
}

function conditionSql(c: Condition, source: Source, p: Params): string {
  if (c.kind === "and" || c.kind === "or") {
    const sql = `(${c.children.map((x) => conditionSql(x, source, p)).join(` ${c.kind} `)})`;
    return c.negate ? `not ${sql}` : sql;
  }
  return filterSql(c as Filter, source, p);
}

function filterSql(c: Filter, source: Source, p: Params): string {
  let sql: string;
  const lhs = fieldSql(source.sql, c.field);
  switch (c.kind) {
    case "op": {
      const value = `${p.add(likePattern(c.op, c.value))}::text::${
        valueType(source, c.field, c.op)
      }`;
      sql = `${lhs} ${OPERATORS[c.op]} ${value}`;
      break;
    }
    case "quantified": {
      const values = p.add(arrayLiteral(c.values.map((v) => likePattern(c.op, v))));
      sql = `${lhs} ${OPERATORS[c.op]} ${c.quantifier}(${values}::text::${
        valueType(source, c.field, c.op)
      }[])`;
      break;
    }
    case "in":
      sql = c.values.length
        ? `${lhs} = any(${p.add(arrayLiteral(c.values))}::text::${valueType(source, c.field)}[])`
        : "false";
      break;
    case "is":
      sql = `${lhs} is ${c.value}`;
      break;
    case "fts": {
      const config = c.config === undefined ? "" : `${p.add(c.config)}::text::regconfig, `;
      sql = `${lhs} @@ ${c.fn}(${config}${p.add(c.value)}::text)`;
      break;
    }
  }
  return c.negate ? `not ${sql}` : sql;
}

function whereSql(conditions: Condition[], source: Source, p: Params): string {
  return conditions.length
    ? ` where ${conditions.map((c) => conditionSql(c, source, p)).join(" and ")}`
    : "";
}

function selectListSql(items: SelectItem[], source: string): string {
  return items.map((item) => {
    if (item.kind === "star") return `${source}.*`;
    const expr = fieldSql(source, item.field);
    // Unquoted, as PostgREST writes it (a quoted "bigint" would not name int8); parseSelect lets
    // only identifier characters through, and inside CAST( … AS … ) they can only be a type.
    const cast = item.cast ? `CAST( ${expr} AS ${item.cast} )` : expr;
    return `${cast} as ${ident(item.alias ?? fieldLabel(item.field))}`;
  }).join(", ");
}

function orderSql(order: OrderTerm[], source: string): string {
  if (!order.length) return "";
  return ` order by ${
    order.map((o) =>
      [fieldSql(source, o.field), o.direction, o.nulls && `nulls ${o.nulls}`].filter(Boolean).join(
        " ",
      )
    ).join(", ")
  }`;
}

function pageSql(req: { limit?: number; offset?: number }, p: Params): string {
  return (req.limit === undefined ? "" : ` limit ${p.add(String(req.limit))}::text::bigint`) +
    (req.offset ? ` offset ${p.add(String(req.offset))}::text::bigint` : "");
}

function bodySql(shape: Shape, rowExpr = "pgrst_source"): string {
  const row = shape.stripNulls ? `json_strip_nulls(to_json(${rowExpr}))` : rowExpr;
  return `coalesce(json_agg(${row}), '[]')::text`;
}

function finalSelect(shape: Shape, totalSql: string, body?: string): string {
  return `select ${body ?? bodySql(shape)} as body, count(*)::int as page, ${totalSql} as total ` +
    `from pgrst_source`;
}

/** GET/HEAD on a table or view. */
export function readSql(rel: Relation, req: ReadRequest, shape: Shape): Statement {
  const p = new Params();
  const src = relationSql(rel);
  const where = whereSql(req.where, relationSource(rel), p);
  const total = shape.count ? `(select count(*) from ${src}${where})::int` : "null::int";
  const text =
    `with pgrst_source as (select ${selectListSql(req.select, src)} from ${src}${where}` +
    `${orderSql(req.order, src)}${pageSql(req, p)}) ${finalSelect(shape, total)}`;
  return { text, values: p.values };
}

function returningSql(
  select: SelectItem[],
  src: string,
  shape: Shape,
  extra: string[] = [],
): string {
  if (shape.rows) return ` returning ${selectListSql(select, src)}`;
  if (shape.count || extra.length) return ` returning ${extra.length ? extra.join(", ") : "1"}`;
  return "";
}

function mutationResult(shape: Shape, returning: string): string {
  if (!returning) return "select ''::text as body, 0 as page, null::int as total";
  return shape.rows
    ? finalSelect(shape, "null::int")
    : `select coalesce(json_agg(pgrst_source), '[]')::text as body, count(*)::int as page, ` +
      `null::int as total from pgrst_source`;
}

export interface InsertOptions {
  columns: Column[];
  /** Missing keys take the column default (`Prefer: missing=default`) instead of null. */
  missingDefault: boolean;
  onConflict?: { target: string[]; resolution: "merge" | "ignore" };
  select: SelectItem[];
  /** Columns to return even with return=minimal (for the Location header). */
  locationColumns: string[];
}

/** POST on a table or view: one statement for one row or many, optionally an upsert. */
export function insertSql(
  rel: Relation,
  body: unknown[],
  opts: InsertOptions,
  shape: Shape,
): Statement {
  const p = new Params();
  const src = relationSql(rel);
  const bodyParam = `${p.add(JSON.stringify(body))}::text::json`;
  const cols = opts.columns.map((c) => ident(c.name));
  let insert: string;
  if (opts.missingDefault) {
    const values = opts.columns.map((c) =>
      `case when pgrst_body.present ? ${literal(c.name)} then (pgrst_body.r).${ident(c.name)} ` +
      `else ${c.defaultExpr ?? "null"} end`
    );
    insert = `insert into ${src} (${cols.join(", ")}) select ${values.join(", ")} from ` +
      `(select json_populate_record(null::${src}, e) as r, e::jsonb as present ` +
      `from json_array_elements(${bodyParam}) e) pgrst_body`;
  } else {
    insert = `insert into ${src}${cols.length ? ` (${cols.join(", ")})` : ""} select ${
      cols.map((c) => `pgrst_body.${c}`).join(", ")
    } from json_populate_recordset(null::${src}, ${bodyParam}) pgrst_body`;
  }
  if (opts.onConflict) {
    const target = `(${opts.onConflict.target.map(ident).join(", ")})`;
    insert += opts.onConflict.resolution === "ignore" || !cols.length
      ? ` on conflict ${target} do nothing`
      : ` on conflict ${target} do update set ${
        cols.map((c) => `${c} = excluded.${c}`).join(", ")
      }`;
  }
  const returning = returningSql(
    opts.select,
    src,
    shape,
    opts.locationColumns.map((c) => `${src}.${ident(c)}`),
  );
  return {
    text: `with pgrst_source as (${insert}${returning}) ${mutationResult(shape, returning)}`,
    values: p.values,
  };
}

/** PATCH on a table or view. */
export function updateSql(
  rel: Relation,
  patch: Record<string, unknown>,
  columns: Column[],
  req: ReadRequest,
  shape: Shape,
): Statement {
  const p = new Params();
  const src = relationSql(rel);
  const set = columns.map((c) => `${ident(c.name)} = pgrst_body.${ident(c.name)}`).join(", ");
  const from = ` from (select * from json_populate_record(null::${src}, ${
    p.add(JSON.stringify(patch))
  }::text::json)) pgrst_body`;
  const where = whereSql(req.where, relationSource(rel), p);
  const returning = returningSql(req.select, src, shape);
  return {
    text: `with pgrst_source as (update ${src} set ${set}${from}${where}${returning}) ` +
      mutationResult(shape, returning),
    values: p.values,
  };
}

/** DELETE on a table or view. */
export function deleteSql(rel: Relation, req: ReadRequest, shape: Shape): Statement {
  const p = new Params();
  const src = relationSql(rel);
  const where = whereSql(req.where, relationSource(rel), p);
  const returning = returningSql(req.select, src, shape);
  return {
    text: `with pgrst_source as (delete from ${src}${where}${returning}) ` +
      mutationResult(shape, returning),
    values: p.values,
  };
}

/**
 * A function call, named notation, arguments typed by `json_to_record` from the JSON object
 * (so JSON arrays become Postgres arrays and objects json/jsonb) — or the whole body as the
 * single json/jsonb argument.
 */
export function rpcSql(
  fn: RpcFunction,
  args: Record<string, unknown>,
  singleJsonArg: boolean,
  req: ReadRequest,
  shape: Shape,
): Statement {
  const p = new Params();
  const name = relationSql(fn);
  let from = "";
  let call: string;
  if (singleJsonArg) {
    call = `${name}(${p.add(JSON.stringify(args))}::text::${fn.params[0].type})`;
  } else {
    const used = fn.params.filter((a) => a.name in args);
    if (used.length) {
      const defs = used.map((a) => `${ident(a.name)} ${a.type}`).join(", ");
      from = `json_to_record(${p.add(JSON.stringify(args))}::text::json) as pgrst_args(${defs})`;
    }
    call = `${name}(${
      used.map((a) => `${ident(a.name)} => pgrst_args.${ident(a.name)}`).join(", ")
    })`;
  }
  if (fn.returns !== "composite" && !fn.returnsSet) {
    const text = `select coalesce(to_json(${call})::text, 'null') as body, 1 as page, ` +
      `null::int as total${from && ` from ${from}`}`;
    return { text, values: p.values };
  }
  const scalarSet = fn.returns !== "composite";
  const source = `${from && `${from} cross join lateral `}${call} as pgrst_call${
    scalarSet ? `(${ident(fn.name)})` : ""
  }`;
  const where = whereSql(req.where, {
    sql: "pgrst_call",
    label: fn.name,
    columnType: (column) =>
      scalarSet ? (column === fn.name ? fn.returnType : undefined) : fn.resultColumns.get(column),
  }, p);
  const list = scalarSet
    ? `pgrst_call.${ident(fn.name)} as pgrst_scalar`
    : selectListSql(req.select, "pgrst_call");
  const total = shape.count ? `(select count(*) from ${source}${where})::int` : "null::int";
  const body = scalarSet ? "coalesce(json_agg(pgrst_source.pgrst_scalar), '[]')::text" : undefined;
  const text = `with pgrst_source as (select ${list} from ${source}${where}` +
    `${orderSql(req.order, "pgrst_call")}${pageSql(req, p)}) ${finalSelect(shape, total, body)}`;
  return { text, values: p.values };
}
