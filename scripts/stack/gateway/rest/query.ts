/**
 * PostgREST's URL grammar, parsed into plain data (no SQL here): `select`, horizontal filters
 * with `not.` and nested `or`/`and` trees, `order`, `limit`/`offset`. Only the grammar supabase-js
 * produces is understood; anything else is a PGRST100 parse error, never a guess.
 */
import { parseError, pgrstError } from "./errors.ts";

/** One step into a json/jsonb column: `->key` (json) or `->>key` (text). */
export interface JsonStep {
  arrow: "->" | "->>";
  key: string;
}

/** A column, optionally followed by a JSON path: `data->a->>b`. */
export interface Field {
  name: string;
  json: JsonStep[];
}

export type SelectItem =
  | { kind: "star" }
  | { kind: "column"; field: Field; alias?: string; cast?: string };

export const OPERATORS = {
  eq: "=",
  neq: "<>",
  gt: ">",
  gte: ">=",
  lt: "<",
  lte: "<=",
  like: "like",
  ilike: "ilike",
  match: "~",
  imatch: "~*",
  cs: "@>",
  cd: "<@",
  ov: "&&",
  sl: "<<",
  sr: ">>",
  nxr: "&<",
  nxl: "&>",
  adj: "-|-",
  isdistinct: "is distinct from",
} as const;

export type Operator = keyof typeof OPERATORS;

const QUANTIFIABLE = new Set(["eq", "gt", "gte", "lt", "lte", "like", "ilike", "match", "imatch"]);
const FTS = {
  fts: "to_tsquery",
  plfts: "plainto_tsquery",
  phfts: "phraseto_tsquery",
  wfts: "websearch_to_tsquery",
} as const;

export type Filter =
  | { kind: "op"; field: Field; negate: boolean; op: Operator; value: string }
  | {
    kind: "quantified";
    field: Field;
    negate: boolean;
    op: Operator;
    quantifier: "any" | "all";
    values: string[];
  }
  | { kind: "in"; field: Field; negate: boolean; values: string[] }
  | { kind: "is"; field: Field; negate: boolean; value: "null" | "true" | "false" | "unknown" }
  | {
    kind: "fts";
    field: Field;
    negate: boolean;
    fn: (typeof FTS)[keyof typeof FTS];
    config?: string;
    value: string;
  };

export interface LogicTree {
  kind: "and" | "or";
  negate: boolean;
  children: Condition[];
}

export type Condition = Filter | LogicTree;

export interface OrderTerm {
  field: Field;
  direction?: "asc" | "desc";
  nulls?: "first" | "last";
}

/** The query-string parameters that are not filters on a table or view. */
export const RESERVED_PARAMS = new Set([
  "select",
  "order",
  "limit",
  "offset",
  "on_conflict",
  "columns",
  "or",
  "and",
  "not.or",
  "not.and",
  "apikey",
]);

// ---- fields -------------------------------------------------------------------------------

function unquoteIdentifier(text: string, what: string): string {
  const t = text.trim();
  if (t.startsWith('"')) {
    if (!t.endsWith('"') || t.length < 2) throw parseError(what, `unterminated quote in ${t}`);
    return t.slice(1, -1).replace(/""/g, '"');
  }
  if (t === "") throw parseError(what, "unexpected empty column name");
  return t;
}

/** `name`, `"quoted name"`, `data->a->>b`. */
export function parseField(text: string, what = "field"): Field {
  const parts = text.split(/(->>|->)/);
  const name = unquoteIdentifier(parts[0], what);
  const json: JsonStep[] = [];
  for (let i = 1; i < parts.length; i += 2) {
    const key = parts[i + 1];
    if (key === undefined || key === "") {
      throw parseError(what, `unexpected end of JSON path in ${text}`);
    }
    json.push({ arrow: parts[i] as "->" | "->>", key: key.replace(/^'(.*)'$/, "$1") });
  }
  return { name, json };
}

/** The key PostgREST names a selected JSON path after: its last key. */
export function fieldLabel(field: Field): string {
  return field.json.length ? field.json[field.json.length - 1].key : field.name;
}

// ---- lists and nesting --------------------------------------------------------------------

/** Splits at top-level commas: not inside double quotes, parentheses or braces. */
export function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === "(" || c === "{") depth++;
    else if (c === ")" || c === "}") depth--;
    else if (c === "," && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

/** A list element: `"a,b"` → `a,b` (with `\"` and `\\` escapes), bare text as it is. */
function unquoteValue(text: string): string {
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) {
    return text.slice(1, -1).replace(/\\(.)/g, "$1");
  }
  return text;
}

/** `(a,b,"c,d")` or `{a,b}` → the elements. */
export function parseList(text: string, what: string): string[] {
  const open = text[0];
  const close = open === "(" ? ")" : open === "{" ? "}" : "";
  if (!close || !text.endsWith(close)) throw parseError(what, `expected a list in ${text}`);
  const inner = text.slice(1, -1);
  if (inner === "") return [];
  return splitTopLevel(inner).map(unquoteValue);
}

// ---- filters ------------------------------------------------------------------------------

/**
 * `[not.]op[(modifier)].value` for `field`. In a logic tree, scalar values may be double-quoted
 * (`"a,b"`); at the top level the value is taken literally, as PostgREST does.
 */
export function parseFilter(field: Field, expr: string, inTree = false): Filter {
  const what = `filter (${expr})`;
  let negate = false;
  let rest = expr;
  if (rest.startsWith("not.")) {
    negate = true;
    rest = rest.slice(4);
  }
  const m = rest.match(/^([a-z]+)(?:\(([^)]*)\))?\.([\s\S]*)$/);
  if (!m) throw parseError(what, `expected an operator and a value in ${expr}`);
  const [, op, modifier, raw] = m;
  const scalar = inTree ? unquoteValue(raw) : raw;
  if (op === "in") {
    if (modifier) throw parseError(what, `unexpected modifier (${modifier})`);
    return { kind: "in", field, negate, values: parseList(raw, what) };
  }
  if (op === "is") {
    const v = raw.toLowerCase();
    if (v !== "null" && v !== "true" && v !== "false" && v !== "unknown") {
      throw parseError(what, `unexpected "${raw}" expecting null, true, false or unknown`);
    }
    return { kind: "is", field, negate, value: v };
  }
  if (op in FTS) {
    const config = modifier;
    if (config !== undefined && !/^[A-Za-z_][A-Za-z0-9_.]*$/.test(config)) {
      throw parseError(what, `invalid text search configuration ${config}`);
    }
    return { kind: "fts", field, negate, fn: FTS[op as keyof typeof FTS], config, value: scalar };
  }
  if (!(op in OPERATORS)) throw parseError(what, `unknown operator ${op}`);
  if (modifier !== undefined) {
    if ((modifier !== "any" && modifier !== "all") || !QUANTIFIABLE.has(op)) {
      throw parseError(what, `unexpected modifier (${modifier}) for ${op}`);
    }
    return {
      kind: "quantified",
      field,
      negate,
      op: op as Operator,
      quantifier: modifier,
      values: parseList(raw, what),
    };
  }
  return { kind: "op", field, negate, op: op as Operator, value: scalar };
}

/** The value of an `or`/`and` parameter, `(cond,cond,...)`, where cond is a filter or a tree. */
export function parseLogicTree(kind: "and" | "or", negate: boolean, value: string): LogicTree {
  const what = `logic tree (${value})`;
  if (!value.startsWith("(") || !value.endsWith(")")) {
    throw parseError(what, `expected "(" and ")" around the conditions`);
  }
  const children = splitTopLevel(value.slice(1, -1)).map((item): Condition => {
    const tree = item.match(/^(not\.)?(and|or)(\(.*\))$/s);
    if (tree) return parseLogicTree(tree[2] as "and" | "or", Boolean(tree[1]), tree[3]);
    const m = item.match(/^((?:"[^"]*"|[^.])+?(?:(?:->>|->)[^.]+)*)\.(.+)$/s);
    if (!m) throw parseError(what, `expected field.operator.value in ${item}`);
    return parseFilter(parseField(m[1], what), m[2], true);
  });
  if (children.length === 0 || (children.length === 1 && value === "()")) {
    throw parseError(what, "unexpected empty logic tree");
  }
  return { kind, negate, children };
}

// ---- select and order ---------------------------------------------------------------------

export function parseSelect(text: string | null): SelectItem[] {
  if (text === null || text === "") return [{ kind: "star" }];
  const what = `select parameter (${text})`;
  return splitTopLevel(text).map((raw): SelectItem => {
    const item = raw.trim();
    if (item === "*") return { kind: "star" };
    if (item.includes("(")) {
      const name = item.replace(/^.*:/, "").replace(/[!(].*$/s, "");
      throw pgrstError(
        400,
        "PGRST200",
        `Could not find a relationship for '${name}' in the schema cache`,
        null,
        "Embedded resources, spreads and aggregates are not supported by the local stack.",
      );
    }
    // A cast is identifier characters only (letters, digits, "_", " ", "$"), as PostgREST's
    // pIdentifier reads it, and is written as CAST( … AS type ) (sql.ts): it can name a type
    // ("timestamp with time zone") but never close the expression and go on with more SQL.
    const m = item.match(
      /^(?:([^:"]+|"[^"]+"):(?!:))?(.+?)(?:::([\p{L}\p{N}_ $]+))?$/su,
    );
    if (!m) throw parseError(what, `unexpected ${item}`);
    const [, alias, fieldText, cast] = m;
    if (fieldText.includes("::")) throw parseError(what, `invalid cast in ${item}`);
    return {
      kind: "column",
      field: parseField(fieldText, what),
      alias: alias === undefined ? undefined : unquoteIdentifier(alias, what),
      cast: cast?.trim() || undefined,
    };
  });
}

export function parseOrder(text: string): OrderTerm[] {
  const what = `order (${text})`;
  return splitTopLevel(text).map((term): OrderTerm => {
    const parts = term.split(".");
    const out: OrderTerm = { field: parseField(parts[0], what) };
    for (const p of parts.slice(1)) {
      if (p === "asc" || p === "desc") out.direction = p;
      else if (p === "nullsfirst") out.nulls = "first";
      else if (p === "nullslast") out.nulls = "last";
      else throw parseError(what, `unexpected "${p}" expecting asc, desc, nullsfirst or nullslast`);
    }
    return out;
  });
}

export function parseNonNegativeInt(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw parseError(what, `expected a non-negative integer, got ${text}`);
  return Number(text);
}

/** What a read (or the filtering part of a mutation) asks for, from the query string. */
export interface ReadRequest {
  select: SelectItem[];
  where: Condition[];
  order: OrderTerm[];
  limit?: number;
  offset?: number;
}

/**
 * The read request in `params`. `skip` names parameters that are not filters (an RPC's
 * arguments on GET).
 */
export function parseReadRequest(
  params: URLSearchParams,
  skip: ReadonlySet<string> = new Set(),
): ReadRequest {
  const where: Condition[] = [];
  const req: ReadRequest = { select: parseSelect(params.get("select")), where, order: [] };
  for (const [key, value] of params) {
    if (skip.has(key)) continue;
    if (key === "or" || key === "and") where.push(parseLogicTree(key, false, value));
    else if (key === "not.or" || key === "not.and") {
      where.push(parseLogicTree(key.slice(4) as "and" | "or", true, value));
    } else if (key === "order") req.order = parseOrder(value);
    else if (key === "limit") req.limit = parseNonNegativeInt(value, `limit (${value})`);
    else if (key === "offset") req.offset = parseNonNegativeInt(value, `offset (${value})`);
    else if (RESERVED_PARAMS.has(key)) continue;
    else if (/\.(or|and|order|limit|offset|select)$/.test(key)) {
      throw pgrstError(
        400,
        "PGRST108",
        `'${key}' refers to an embedded resource, which the local stack does not support`,
      );
    } else where.push(parseFilter(parseField(key, `filter (${key})`), value));
  }
  return req;
}

/** `Prefer` preferences (several headers or comma-separated), as key → value. */
export function parsePrefer(header: string | null): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? "").split(",")) {
    const [k, v] = part.trim().split("=");
    if (k) out.set(k.trim().toLowerCase(), (v ?? "").trim());
  }
  return out;
}
