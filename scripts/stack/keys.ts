/**
 * The stack's JWT secret and the two API keys signed with it, as Supabase issues them:
 * HS256 JWTs with role anon / service_role. Generated once per stack directory.
 */
import { jwtVerify, SignJWT } from "jose";
import { z } from "zod";
import { join } from "./paths.ts";

export const StackKeys = z.object({
  jwtSecret: z.string().min(32),
  anonKey: z.string(),
  serviceRoleKey: z.string(),
});
export type StackKeys = z.infer<typeof StackKeys>;

/** Claims a verified request carries; role decides the Postgres role of the request. */
export const JwtClaims = z.looseObject({
  role: z.string(),
  sub: z.string().optional(),
  exp: z.number().optional(),
  aud: z.union([z.string(), z.array(z.string())]).optional(),
});
export type JwtClaims = z.infer<typeof JwtClaims>;

const TEN_YEARS_S = 10 * 365 * 24 * 3600;

export async function loadOrCreateKeys(stackDir: string): Promise<StackKeys> {
  const path = join(stackDir, "keys.json");
  try {
    return StackKeys.parse(JSON.parse(await Deno.readTextFile(path)));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const jwtSecret = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const keys: StackKeys = {
    jwtSecret,
    anonKey: await signJwt(jwtSecret, { role: "anon", iss: "supabase-local" }, TEN_YEARS_S),
    serviceRoleKey: await signJwt(
      jwtSecret,
      { role: "service_role", iss: "supabase-local" },
      TEN_YEARS_S,
    ),
  };
  await Deno.mkdir(stackDir, { recursive: true });
  await Deno.writeTextFile(path, JSON.stringify(keys, null, 2), { mode: 0o600 });
  return keys;
}

export function signJwt(
  secret: string,
  claims: Record<string, unknown>,
  expiresInSeconds: number,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(now)
    .setExpirationTime(now + expiresInSeconds)
    .sign(new TextEncoder().encode(secret));
}

/** Verifies signature and expiry; throws on anything else. */
export async function verifyJwt(secret: string, token: string): Promise<JwtClaims> {
  const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), {
    algorithms: ["HS256"],
  });
  return JwtClaims.parse(payload);
}
