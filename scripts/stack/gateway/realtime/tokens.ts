/** The caller behind a Realtime access token (socket apikey, join or `access_token` event). */
import { decodeJwt } from "jose";
import { verifyJwt } from "../../keys.ts";
import type { GatewayContext } from "../context.ts";
import type { Caller } from "../request_role.ts";

const API_ROLES = new Set(["anon", "authenticated", "service_role"]);

export type TokenCheck = { caller: Caller } | { error: string };

export async function callerFromToken(ctx: GatewayContext, token: string): Promise<TokenCheck> {
  try {
    const claims = await verifyJwt(ctx.keys.jwtSecret, token);
    if (!API_ROLES.has(claims.role)) return { error: `role "${claims.role}" does not exist` };
    return { caller: { role: claims.role, claims, token } };
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
