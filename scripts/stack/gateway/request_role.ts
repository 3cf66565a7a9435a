/**
 * Who a request is, and running SQL as them — as Supabase's API gateway and PostgREST do it, so
 * RLS behaves here as on Supabase:
 *
 * - `apikey` (header, or `?apikey=`) must be one of the project's API keys: the publishable key
 *   (role anon) or the secret key (role service_role); with the legacy switch on also the HS256
 *   `anon` / `service_role` JWT keys. Anything else is 401 "Invalid API key"; a user's JWT is
 *   no API key. A secret key sent by a browser (User-Agent) is refused, as on hosted.
 * - `Authorization: Bearer <JWT>` is a user's (or a minted) token, verified against the JWKS
 *   (ES256, `kid`) and, with the legacy switch on, the legacy JWT secret. Without it — or when
 *   it carries the same `sb_…` key as `apikey`, as supabase-js sends it — the request runs as
 *   the key's role, as the hosted gateway does by handing the service a JWT of that role.
 * Then `set local role` from the role claim and request.jwt.claims, request.method,
 * request.path and request.headers, as PostgREST sets them.
 */
import type postgres from "postgres";
import type { ApiKeyRole, JwtClaims } from "../keys.ts";
import type { GatewayContext } from "./context.ts";
import { HttpError } from "./http.ts";

export interface Caller {
  role: string;
  claims: JwtClaims;
  /** The bearer JWT, or the API key when the request carried no JWT. */
  token: string;
  /** The role of the request's API key (null: no `apikey`, where the service allows that). */
  keyRole: ApiKeyRole | null;
}

const API_ROLES = new Set(["anon", "authenticated", "service_role"]);

/** The hosted gateway's 401 bodies. */
export const noApiKey = () =>
  new HttpError(401, {
    message: "No API key found in request",
    hint: "No `apikey` request header or url param was found.",
  });
export const invalidApiKey = () =>
  new HttpError(401, {
    message: "Invalid API key",
    hint: "Double check your Supabase `anon` or `service_role` API key.",
  });

/** Hosted refuses secret keys from browsers by their User-Agent. */
function fromBrowser(req: Request): boolean {
  return /^Mozilla\/\d/.test(req.headers.get("user-agent") ?? "");
}

/** The claims the gateway's stand-in JWT for an API key carries. */
export function keyClaims(role: ApiKeyRole): JwtClaims {
  return { role, iss: "supabase" };
}

/**
 * The role of the request's `apikey` (null when absent); throws the gateway's 401 for a key
 * this project does not have.
 */
export function apiKeyOf(ctx: GatewayContext, req: Request, apikey?: string | null) {
  const key = apikey ?? req.headers.get("apikey") ?? new URL(req.url).searchParams.get("apikey");
  if (!key) return null;
  const role = ctx.keys.apiKeyRole(key);
  if (!role) throw invalidApiKey();
  if (key.startsWith("sb_secret_") && fromBrowser(req)) {
    throw new HttpError(401, { message: "Forbidden use of secret API key in browser" });
  }
  return { key, role };
}

/** Verifies a bearer JWT; `errorShape` builds the 401 body in the calling service's format. */
export async function verifyBearer(
  ctx: GatewayContext,
  token: string,
  keyRole: ApiKeyRole | null,
  errorShape: (message: string) => Record<string, unknown>,
): Promise<Caller> {
  let claims: JwtClaims;
  try {
    claims = await ctx.keys.verify(token);
  } catch (e) {
    const expired = (e as { code?: string }).code === "ERR_JWT_EXPIRED";
    throw new HttpError(401, errorShape(expired ? "JWT expired" : "Invalid JWT"));
  }
  if (!API_ROLES.has(claims.role)) {
    throw new HttpError(401, errorShape(`role "${claims.role}" does not exist`));
  }
  return { role: claims.role, claims, token, keyRole };
}

export interface AuthenticateOptions {
  /** REST, Auth and Realtime need an `apikey`; Storage and Functions accept a JWT alone. */
  apikeyRequired?: boolean;
}

/**
 * The caller of `req` (see the top of this module). `errorShape` builds the body of a JWT 401
 * in the calling service's own error format.
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
  { apikeyRequired = true }: AuthenticateOptions = {},
): Promise<Caller> {
  const key = apiKeyOf(ctx, req);
  if (!key && apikeyRequired) throw noApiKey();
  const bearer = req.headers.get("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
  if (bearer && !bearer.startsWith("sb_")) {
    return await verifyBearer(ctx, bearer, key?.role ?? null, errorShape);
  }
  // An API key as the bearer is only accepted when it is exactly the `apikey` header.
  if (bearer && bearer !== key?.key) throw invalidApiKey();
  if (!key) throw new HttpError(401, errorShape("No API key found in request"));
  return { role: key.role, claims: keyClaims(key.role), token: key.key, keyRole: key.role };
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
