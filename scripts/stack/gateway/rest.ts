/**
 * /rest/v1: the PostgREST subset supabase-js relies on — reads with filters, order, ranges and
 * counts; insert/upsert/update/delete; RPC; singular responses; schema profiles. Every request
 * is authenticated and runs as the caller (role + request.jwt.claims, request.method/path/
 * headers) in one transaction, so RLS, column grants and EXECUTE grants decide, as on Supabase.
 * The statements are built in rest/sql.ts from the URL grammar parsed in rest/query.ts.
 */
import type postgres from "postgres";
import type { GatewayContext } from "./context.ts";
import { corsHeaders, HttpError } from "./http.ts";
import { asCaller, authenticate, type Caller, requestInfo } from "./request_role.ts";
import {
  type Column,
  EXPOSED_SCHEMAS,
  type Relation,
  type RpcFunction,
  SchemaCache,
} from "./rest/catalog.ts";
import { fromPostgresError, isPostgresError, pgrstError } from "./rest/errors.ts";
import { parsePrefer, parseReadRequest, type ReadRequest, RESERVED_PARAMS } from "./rest/query.ts";
import {
  deleteSql,
  ident,
  insertSql,
  readSql,
  rpcSql,
  type Shape,
  type Statement,
  updateSql,
} from "./rest/sql.ts";

const OBJECT_MEDIA_TYPE = "application/vnd.pgrst.object+json";

const caches = new WeakMap<GatewayContext, SchemaCache>();

function schemaCache(ctx: GatewayContext): SchemaCache {
  let cache = caches.get(ctx);
  if (!cache) {
    cache = new SchemaCache(ctx.admin);
    caches.set(ctx, cache);
    cache.listen().catch((e) =>
      console.error(JSON.stringify({ msg: "rest: schema cache listen failed", error: String(e) }))
    );
  }
  return cache;
}

/** Everything about one request that decides the statement and the response. */
interface RestRequest {
  method: string;
  schema: string;
  params: URLSearchParams;
  prefer: Map<string, string>;
  /** Accept: application/vnd.pgrst.object+json. */
  singular: boolean;
  stripNulls: boolean;
  range?: { offset: number; limit?: number };
}

interface Result {
  body: string;
  page: number;
  total: number | null;
}

/** Thrown inside the transaction to roll it back while still answering (Prefer: tx=rollback). */
class RollbackWith {
  constructor(readonly result: Result) {}
}

export async function handleRest(
  req: Request,
  ctx: GatewayContext,
  path: string,
): Promise<Response> {
  const caller = await authenticate(ctx, req);
  const cache = schemaCache(ctx);
  try {
    return await serve(req, ctx, cache, caller, path);
  } catch (e) {
    if (isPostgresError(e)) {
      // A table or function dropped behind the cache's back: forget it for the next request.
      if (e.code === "42P01" || e.code === "42883") cache.reload();
      throw fromPostgresError(e, caller.role);
    }
    throw e;
  }
}

async function serve(
  req: Request,
  ctx: GatewayContext,
  cache: SchemaCache,
  caller: Caller,
  path: string,
): Promise<Response> {
  const method = req.method.toUpperCase();
  if (!["GET", "HEAD", "POST", "PATCH", "DELETE"].includes(method)) {
    throw pgrstError(405, "PGRST117", `Unsupported HTTP method: ${method}`);
  }
  const read = method === "GET" || method === "HEAD";
  const url = new URL(req.url);
  const schema = req.headers.get(read ? "accept-profile" : "content-profile") ?? "public";
  if (!(EXPOSED_SCHEMAS as readonly string[]).includes(schema)) {
    throw pgrstError(
      406,
      "PGRST106",
      `Invalid schema: ${schema}`,
      null,
      `Only the following schemas are exposed: ${EXPOSED_SCHEMAS.join(", ")}`,
    );
  }
  const accept = req.headers.get("accept") ?? "";
  if (/text\/csv|application\/geo\+json/.test(accept)) {
    throw pgrstError(406, "PGRST107", `None of these media types are available: ${accept}`);
  }
  const rest: RestRequest = {
    method,
    schema,
    params: url.searchParams,
    prefer: parsePrefer(req.headers.get("prefer")),
    singular: accept.includes(OBJECT_MEDIA_TYPE),
    stripNulls: /nulls=stripped/.test(accept),
    range: read ? parseRange(req.headers.get("range")) : undefined,
  };
  const segments = path.split("/").filter(Boolean).map(decodeURIComponent);
  const run = (stmt: Statement, readOnly: boolean) =>
    execute(ctx, cache, caller, req, path, rest, stmt, readOnly);

  if (segments.length === 2 && segments[0] === "rpc") {
    return await callFunction(req, cache, rest, segments[1], run);
  }
  if (segments.length !== 1) {
    throw pgrstError(404, "PGRST125", `Invalid path specified in request URL`);
  }
  const rel = await cache.relation(schema, segments[0]);
  if (!rel) {
    throw pgrstError(
      404,
      "PGRST205",
      `Could not find the table '${schema}.${segments[0]}' in the schema cache`,
    );
  }
  if (read) return await readRelation(rel, rest, run);
  if (method === "POST") return await insertRows(req, cache, rel, rest, run);
  if (method === "PATCH") return await updateRows(req, cache, rel, rest, run);
  return await deleteRows(rel, rest, run);
}

type Run = (stmt: Statement, readOnly: boolean) => Promise<Result>;

/** Runs the one statement as the caller, enforcing singular responses inside the transaction. */
async function execute(
  ctx: GatewayContext,
  cache: SchemaCache,
  caller: Caller,
  req: Request,
  path: string,
  rest: RestRequest,
  stmt: Statement,
  readOnly: boolean,
): Promise<Result> {
  const catalog = await cache.get();
  const settings: Record<string, string> = {
    ...catalog.roleSettings.get(caller.role),
    search_path: `${ident(rest.schema)}, public, extensions`,
  };
  if (readOnly) settings.transaction_read_only = "on";
  const info = { ...requestInfo(req), path };
  try {
    return await asCaller(ctx, caller, info, async (tx: postgres.TransactionSql) => {
      const rows = await tx.unsafe(stmt.text, stmt.values, { prepare: true });
      const row = rows[0] as unknown as Result;
      if (rest.singular && row.page !== 1) throw singularError(row.page);
      if (rest.prefer.get("tx") === "rollback") throw new RollbackWith(row);
      return row;
    }, settings);
  } catch (e) {
    if (e instanceof RollbackWith) return e.result;
    throw e;
  }
}

function singularError(rows: number): HttpError {
  return pgrstError(
    406,
    "PGRST116",
    "JSON object requested, multiple (or no) rows returned",
    `The result contains ${rows} rows`,
  );
}

function parseRange(header: string | null): RestRequest["range"] {
  if (!header) return undefined;
  const m = header.trim().match(/^(?:items=)?(\d+)-(\d*)$/);
  if (!m) return undefined;
  const offset = Number(m[1]);
  if (m[2] === "") return { offset };
  const last = Number(m[2]);
  if (last < offset) {
    throw pgrstError(416, "PGRST103", "Requested range not satisfiable", null);
  }
  return { offset, limit: last - offset + 1 };
}

function shapeOf(rest: RestRequest, rows: boolean): Shape {
  return { rows, count: rest.prefer.has("count"), stripNulls: rest.stripNulls };
}

function respond(status: number, body: string | null, headers: Record<string, string>): Response {
  return new Response(body, {
    status,
    headers: {
      ...corsHeaders,
      ...(body === null ? {} : { "content-type": "application/json; charset=utf-8" }),
      ...headers,
    },
  });
}

/** The JSON body as the client asked for it: the array, or its single object. */
function shapeBody(rest: RestRequest, result: Result): string {
  return rest.singular ? result.body.slice(1, -1) : result.body;
}

/** A read's answer: Content-Range, 206 for a partial page of a counted result, 416 past the end. */
function readResponse(rest: RestRequest, req: ReadRequest, result: Result): Response {
  const offset = req.offset ?? 0;
  const { page, total } = result;
  if (total !== null && offset > total && !rest.singular) {
    throw pgrstError(
      416,
      "PGRST103",
      "Requested range not satisfiable",
      `An offset of ${offset} was requested, but there are only ${total} rows.`,
    );
  }
  const range = page > 0 ? `${offset}-${offset + page - 1}` : "*";
  const status = total !== null && page < total ? 206 : 200;
  const headers = { "content-range": `${range}/${total ?? "*"}` };
  if (rest.singular) {
    headers["content-type" as keyof typeof headers] = `${OBJECT_MEDIA_TYPE}; charset=utf-8`;
  }
  return respond(status, rest.method === "HEAD" ? null : shapeBody(rest, result), headers);
}

function withRange(req: ReadRequest, rest: RestRequest): ReadRequest {
  if (!rest.range) return req;
  const limits = [req.limit, rest.range.limit].filter((n): n is number => n !== undefined);
  return {
    ...req,
    offset: req.offset ?? rest.range.offset,
    limit: limits.length ? Math.min(...limits) : undefined,
  };
}

async function readRelation(rel: Relation, rest: RestRequest, run: Run): Promise<Response> {
  const req = withRange(parseReadRequest(rest.params), rest);
  const result = await run(readSql(rel, req, shapeOf(rest, true)), true);
  return readResponse(rest, req, result);
}

async function jsonBody(req: Request): Promise<unknown> {
  const text = await req.text();
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw pgrstError(400, "PGRST102", "Empty or invalid json");
  }
}

/** The payload's columns, each known to the schema cache (PGRST204 otherwise). */
async function payloadColumns(
  cache: SchemaCache,
  rel: Relation,
  names: string[],
): Promise<Column[]> {
  let current = rel;
  if (names.some((n) => !current.columns.has(n))) {
    current = (await cache.reload()).relations.get(`${rel.schema}.${rel.name}`) ?? rel;
  }
  return names.map((n) => {
    const col = current.columns.get(n);
    if (!col) {
      throw pgrstError(
        400,
        "PGRST204",
        `Could not find the '${n}' column of '${rel.name}' in the schema cache`,
      );
    }
    return col;
  });
}

function returnPreference(rest: RestRequest): string {
  return rest.prefer.get("return") ?? "minimal";
}

function mutationRange(result: Result, counted: boolean): string {
  const range = result.page > 0 ? `0-${result.page - 1}` : "*";
  return `${range}/${counted ? result.page : "*"}`;
}

async function insertRows(
  req: Request,
  cache: SchemaCache,
  rel: Relation,
  rest: RestRequest,
  run: Run,
): Promise<Response> {
  const payload = await jsonBody(req);
  const rows = Array.isArray(payload) ? payload : [payload];
  if (!rows.every((r) => typeof r === "object" && r !== null && !Array.isArray(r))) {
    throw pgrstError(400, "PGRST102", "Empty or invalid json");
  }
  const columnsParam = rest.params.get("columns");
  const names = columnsParam !== null
    ? columnsParam.split(",").map((c) => c.trim().replace(/^"(.*)"$/, "$1")).filter(Boolean)
    : [...new Set(rows.flatMap((r) => Object.keys(r as object)))];
  const columns = await payloadColumns(cache, rel, names);
  const resolution = rest.prefer.get("resolution");
  let onConflict;
  if (resolution === "merge-duplicates" || resolution === "ignore-duplicates") {
    const target = rest.params.get("on_conflict")?.split(",").map((c) => c.trim()) ??
      rel.primaryKey;
    if (!target.length) {
      throw pgrstError(400, "PGRST100", "on_conflict is required: the relation has no primary key");
    }
    await payloadColumns(cache, rel, target);
    onConflict = {
      target,
      resolution: resolution.startsWith("merge") ? "merge" as const : "ignore" as const,
    };
  }
  const ret = returnPreference(rest);
  const read = parseReadRequest(rest.params);
  const shape = shapeOf(rest, ret === "representation");
  shape.count ||= rest.singular;
  const locationColumns = ret === "headers-only" ? rel.primaryKey : [];
  const result = await run(
    insertSql(rel, rows, {
      columns,
      missingDefault: rest.prefer.get("missing") === "default",
      onConflict,
      select: read.select,
      locationColumns,
    }, shape),
    false,
  );
  const headers: Record<string, string> = {
    "content-range": `*/${rest.prefer.has("count") ? result.page : "*"}`,
  };
  if (locationColumns.length && result.page > 0) {
    const first = (JSON.parse(result.body) as Record<string, unknown>[])[0];
    const query = locationColumns.map((c) => `${c}=eq.${encodeURIComponent(String(first[c]))}`);
    headers.location = `/${rel.name}?${query.join("&")}`;
  }
  if (ret !== "representation") return respond(201, null, headers);
  if (rest.singular) headers["content-type"] = `${OBJECT_MEDIA_TYPE}; charset=utf-8`;
  return respond(201, shapeBody(rest, result), headers);
}

async function updateRows(
  req: Request,
  cache: SchemaCache,
  rel: Relation,
  rest: RestRequest,
  run: Run,
): Promise<Response> {
  const payload = await jsonBody(req);
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    throw pgrstError(400, "PGRST102", "Empty or invalid json");
  }
  const read = mutationFilter(rest);
  const columns = await payloadColumns(cache, rel, Object.keys(payload));
  const ret = returnPreference(rest);
  if (!columns.length) {
    // Nothing to set: PostgREST answers without touching a row.
    return ret === "representation"
      ? respond(200, rest.singular ? "" : "[]", { "content-range": "*/*" })
      : respond(204, null, { "content-range": "*/*" });
  }
  const shape = shapeOf(rest, ret === "representation");
  shape.count ||= rest.singular;
  const result = await run(
    updateSql(rel, payload as Record<string, unknown>, columns, read, shape),
    false,
  );
  return mutationResponse(rest, ret, result);
}

async function deleteRows(rel: Relation, rest: RestRequest, run: Run): Promise<Response> {
  const read = mutationFilter(rest);
  const ret = returnPreference(rest);
  const shape = shapeOf(rest, ret === "representation");
  shape.count ||= rest.singular;
  const result = await run(deleteSql(rel, read, shape), false);
  return mutationResponse(rest, ret, result);
}

function mutationFilter(rest: RestRequest): ReadRequest {
  const read = parseReadRequest(rest.params);
  if (read.limit !== undefined || read.offset !== undefined) {
    throw pgrstError(
      400,
      "PGRST100",
      "limit/offset on PATCH and DELETE is not supported by the local stack",
    );
  }
  return read;
}

function mutationResponse(rest: RestRequest, ret: string, result: Result): Response {
  const headers: Record<string, string> = {
    "content-range": mutationRange(result, rest.prefer.has("count")),
  };
  if (ret !== "representation") return respond(204, null, headers);
  if (rest.singular) headers["content-type"] = `${OBJECT_MEDIA_TYPE}; charset=utf-8`;
  return respond(200, shapeBody(rest, result), headers);
}

// ---- RPC ----------------------------------------------------------------------------------

const isJsonType = (type: string) => type === "json" || type === "jsonb";

function chooseFunction(
  candidates: RpcFunction[],
  keys: string[],
  singleObject: boolean,
): { fn: RpcFunction; singleJsonArg: boolean } | undefined {
  const singleJson = candidates.filter((f) =>
    f.params.length === 1 && isJsonType(f.params[0].type) &&
    (singleObject || f.params[0].name === "")
  );
  if (singleObject) return singleJson[0] && { fn: singleJson[0], singleJsonArg: true };
  const matching = candidates.filter((f) =>
    keys.every((k) => f.params.some((p) => p.name === k)) &&
    f.params.every((p) => p.hasDefault || keys.includes(p.name))
  );
  if (matching.length > 1) {
    const exact = matching.filter((f) => f.params.length === keys.length);
    if (exact.length === 1) return { fn: exact[0], singleJsonArg: false };
    throw pgrstError(
      300,
      "PGRST203",
      `Could not choose the best candidate function between: ${
        matching.map((f) =>
          `${f.schema}.${f.name}(${f.params.map((p) => `${p.name} => ${p.type}`).join(", ")})`
        ).join(", ")
      }`,
      null,
      "Try renaming the parameters or the function itself in the database so function overloading can be resolved",
    );
  }
  if (matching.length === 1) return { fn: matching[0], singleJsonArg: false };
  return singleJson[0] && { fn: singleJson[0], singleJsonArg: true };
}

async function callFunction(
  req: Request,
  cache: SchemaCache,
  rest: RestRequest,
  name: string,
  run: Run,
): Promise<Response> {
  const read = rest.method === "GET" || rest.method === "HEAD";
  let candidates = await cache.functions(rest.schema, name);
  const argNames = new Set(candidates.flatMap((f) => f.params.map((p) => p.name)));
  let args: Record<string, unknown> = {};
  if (read) {
    for (const [k, v] of rest.params) {
      if (argNames.has(k) && !RESERVED_PARAMS.has(k)) args[k] = v;
    }
  } else {
    const payload = await jsonBody(req);
    if (payload !== undefined) {
      if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
        throw pgrstError(400, "PGRST102", "Empty or invalid json");
      }
      args = payload as Record<string, unknown>;
    }
  }
  const keys = Object.keys(args);
  const singleObject = rest.prefer.get("params") === "single-object";
  let chosen = chooseFunction(candidates, keys, singleObject);
  if (!chosen) {
    candidates = (await cache.reload()).functions.get(`${rest.schema}.${name}`) ?? [];
    chosen = chooseFunction(candidates, keys, singleObject);
  }
  if (!chosen) {
    const list = [...keys].sort().join(", ");
    throw pgrstError(
      404,
      "PGRST202",
      `Could not find the function ${rest.schema}.${name}${
        keys.length ? `(${list})` : " without parameters"
      } in the schema cache`,
      `Searched for the function ${rest.schema}.${name}${
        keys.length ? ` with parameters ${list}` : " without parameters"
      } or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.`,
    );
  }
  const { fn, singleJsonArg } = chosen;
  const skip = new Set(read ? keys : []);
  const readReq = withRange(parseReadRequest(rest.params, skip), rest);
  const stmt = rpcSql(fn, args, singleJsonArg, readReq, shapeOf(rest, true));
  const result = await run(stmt, read || fn.volatility !== "v");
  if (fn.returns === "void") return respond(204, null, {});
  if (fn.returnsSet) return readResponse(rest, readReq, result);
  // A single value or a single row: the bare JSON value or the object, never an array.
  const body = fn.returns === "composite" ? result.body.slice(1, -1) || "null" : result.body;
  return respond(200, rest.method === "HEAD" ? null : body, {
    "content-range": `0-0/${rest.prefer.has("count") ? 1 : "*"}`,
  });
}
