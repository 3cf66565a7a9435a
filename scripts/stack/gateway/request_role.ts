/**
 * Who a request is, and running SQL as them — exactly as PostgREST does it, so RLS behaves here
 * as on Supabase: verify the JWT (HS256, the stack's secret), `set local role` from its role
 * claim, and set request.jwt.claims, request.method, request.path and request.headers.
 */
import type postgres from "postgres";
import { type JwtClaims, verifyJwt } from "../keys.ts";
import type { GatewayContext } from "./context.ts";
import { HttpError } from "./http.ts";

export interface Caller {
  role: string;
  claims: JwtClaims;
  token: string;
}

const API_ROLES = new Set(["anon", "authenticated", "service_role"]);

/**
 * The caller from `Authorization: Bearer` (or, failing that, the `apikey` header).
 * `errorShape` builds the body of the 401 in the calling service's own error format.
 */
export async function authenticate(
  ctx: GatewayContext,
  req: Request,
  errorShape: (message: string) => Record<string, unknown> = (message) => ({
    code: "PGRST301",
    message,
    details: null,
    hint: null,
  }),
): Promise<Caller> {
  const header = req.headers.get("authorization");
  const token = header?.match(/^Bearer\s+(.+)$/i)?.[1] ?? req.headers.get("apikey") ??
    new URL(req.url).searchParams.get("apikey");
  if (!token) throw new HttpError(401, errorShape("No API key found in request"));
  let claims: JwtClaims;
  try {
    claims = await verifyJwt(ctx.keys.jwtSecret, token);
  } catch (e) {
    const expired = (e as { code?: string }).code === "ERR_JWT_EXPIRED";
    throw new HttpError(401, errorShape(expired ? "JWT expired" : "Invalid JWT"));
  }
  if (!API_ROLES.has(claims.role)) {
    throw new HttpError(401, errorShape(`role "${claims.role}" does not exist`));
  }
  return { role: claims.role, claims, token };
}

export interface RequestInfo {
  method: string;
  path: string;
  headers: Record<string, string>;
}

export function requestInfo(req: Request): RequestInfo {
  const url = new URL(req.url);
  const headers: Record<string, string> = {};
  req.headers.forEach((v, k) => (headers[k] = v));
  return { method: req.method, path: url.pathname, headers };
}

/** Runs `fn` in one transaction as the caller's role with PostgREST's request settings. */
export function asCaller<T>(
  ctx: GatewayContext,
  caller: Caller,
  info: RequestInfo,
  fn: (tx: postgres.TransactionSql) => Promise<T>,
  extraSettings: Record<string, string> = {},
): Promise<T> {
  return ctx.api.begin(async (tx) => {
    const settings: Record<string, string> = {
      role: caller.role,
      "request.jwt.claims": JSON.stringify(caller.claims),
      "request.method": info.method,
      "request.path": info.path,
      "request.headers": JSON.stringify(info.headers),
      ...extraSettings,
    };
    const names = Object.keys(settings);
    // Pipelined: the settings and the caller's first statement leave together (one round trip
    // fewer per request); the statement runs after set_config on the same connection, and if
    // set_config failed the transaction is aborted, so the statement fails too.
    const configured = tx.unsafe(
      `select ${names.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`).join(", ")}`,
      names.flatMap((n) => [n, settings[n]]),
    ).execute(); // postgres.js sends a query when it is awaited or executed: now, first
    const [, result] = await Promise.all([configured, fn(tx)]);
    return result;
  }) as Promise<T>;
}
