/**
 * The caller behind a Realtime credential: the socket's `apikey` (one of the project's API
 * keys) and the access token of a join or `access_token` event — a user's JWT, verified
 * against the JWKS, or an API key itself (realtime-js sends the key when there is no session).
 */
import { decodeJwt } from "jose";
import type { GatewayContext } from "../context.ts";
import { type Caller, keyClaims } from "../request_role.ts";

const API_ROLES = new Set(["anon", "authenticated", "service_role"]);

export type TokenCheck = { caller: Caller } | { error: string };

/** The socket's `apikey`: the project's keys only, never a user's JWT. */
export function callerFromApiKey(ctx: GatewayContext, apikey: string): TokenCheck {
  const role = ctx.keys.apiKeyRole(apikey);
  if (!role) return { error: "Invalid API key" };
  return { caller: { role, claims: keyClaims(role), token: apikey, keyRole: role } };
}

export async function callerFromToken(ctx: GatewayContext, token: string): Promise<TokenCheck> {
  if (token.startsWith("sb_")) return callerFromApiKey(ctx, token);
  try {
    const claims = await ctx.keys.verify(token);
    if (!API_ROLES.has(claims.role)) return { error: `role "${claims.role}" does not exist` };
    return { caller: { role: claims.role, claims, token, keyRole: null } };
  } catch (e) {
    if ((e as { code?: string }).code === "ERR_JWT_EXPIRED") {
      return { error: `Token has expired ${secondsSinceExpiry(token)} seconds ago` };
    }
    return { error: "Invalid JWT Token" };
  }
}

function secondsSinceExpiry(token: string): number {
  const exp = decodeJwt(token).exp ?? 0;
  return Math.max(0, Math.floor(Date.now() / 1000) - exp);
}

/** Milliseconds until the caller's token expires, or null when it never does (soon enough). */
export function msUntilExpiry(caller: Caller): number | null {
  if (caller.claims.exp === undefined) return null;
  const ms = caller.claims.exp * 1000 - Date.now();
  // setTimeout cannot wait longer than 2^31-1 ms; a token living that long never expires here.
  return ms > 2 ** 31 - 1 ? null : Math.max(0, ms);
}
