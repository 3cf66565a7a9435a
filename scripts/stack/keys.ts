/**
 * The stack's keys, as a Supabase project created today has them:
 *
 * - JWT signing keys (asymmetric, ES256 by default) in the format `supabase gen signing-key`
 *   writes: a JSON array of private JWKs, the first one signs. Read from `[auth]
 *   signing_keys_path` of supabase/config.toml (relative to `supabase/`); when that file does
 *   not exist the stack makes its own in `<stack dir>/signing_keys.json` (never in the repo).
 *   Public parts are served at /auth/v1/.well-known/jwks.json.
 * - API keys: one publishable (`sb_publishable_…`, role anon) and one secret (`sb_secret_…`,
 *   role service_role) key, opaque strings, generated once per stack directory (keys.json).
 * - The legacy JWT secret with its HS256 `anon` and `service_role` JWT keys. Trusted only when
 *   the legacy switch is on (STACK_LEGACY_KEYS=1), as on a project created before the new keys.
 *   The secret also signs Storage's signed-URL tokens, which never leave the stack's own check.
 */
import { decodeProtectedHeader, importJWK, type JWK, jwtVerify, SignJWT } from "jose";
import { z } from "zod";
import type { StackConfig } from "./config.ts";
import { join } from "node:path";
import { loadOrCreateSigningKeys, signingKeysPath } from "../lib/supabase_cli.ts";

export const StackKeys = z.object({
  publishableKey: z.string().startsWith("sb_publishable_"),
  secretKey: z.string().startsWith("sb_secret_"),
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

/** What each kind of API key stands for. */
export type ApiKeyRole = "anon" | "service_role";

export interface KeyRing {
  keys: StackKeys;
  /** Legacy HS256 JWT secret and the anon / service_role JWT keys are trusted. */
  legacy: boolean;
  /** The signing keys file in use (config.toml's path, or the stack's own). */
  signingKeysPath: string;
  /** The public JWKS (public parts only), as /auth/v1/.well-known/jwks.json serves it. */
  jwks: { keys: JWK[] };
  /**
   * Signs an access token with the current signing key (its `kid` in the header): the ES256
   * key, or with the legacy switch on the legacy JWT secret (HS256, kid "legacy"), as a project
   * created earlier that has not rotated to its asymmetric standby key.
   */
  sign(claims: Record<string, unknown>, expiresInSeconds: number): Promise<string>;
  /**
   * SUPABASE_JWKS for Edge Functions: the public keys, plus (legacy on) the legacy secret as an
   * `oct` key, as the Supabase CLI and platform hand it to functions.
   */
  functionJwks(): { keys: Record<string, unknown>[] };
  /** Verifies signature and expiry against the JWKS (and, with legacy on, the JWT secret). */
  verify(token: string): Promise<JwtClaims>;
  /** The role an `apikey` value stands for, or null when it is no key of this project. */
  apiKeyRole(apikey: string): ApiKeyRole | null;
}

const TEN_YEARS_S = 10 * 365 * 24 * 3600;
/** `kid` of tokens signed with the legacy JWT secret. */
export const LEGACY_KID = "legacy";

function randomToken(bytes: number): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...raw)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** `sb_<kind>_<22 random chars>_<8-char checksum>`, the shape hosted keys have. */
export async function newApiKey(kind: "publishable" | "secret"): Promise<string> {
  const body = `sb_${kind}_${randomToken(16)}`;
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body)),
  );
  const sum = btoa(String.fromCharCode(...digest)).replace(/[+/=]/g, "").slice(0, 8);
  return `${body}_${sum}`;
}

/** The private-only members of a JWK; what is left is its public part. */
const PRIVATE_MEMBERS = new Set(["d", "p", "q", "dp", "dq", "qi", "oth", "k"]);

export function publicJwk(jwk: Record<string, unknown>): JWK {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(jwk)) if (!PRIVATE_MEMBERS.has(k)) out[k] = v;
  out.key_ops = ["verify"];
  return out as JWK;
}

async function readJsonFile(path: string): Promise<unknown | null> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

/** keys.json of the stack directory, created on first use. */
async function loadOrCreateStackKeys(stackDir: string): Promise<StackKeys> {
  const path = join(stackDir, "keys.json");
  const existing = await readJsonFile(path);
  const parsed = StackKeys.safeParse(existing);
  if (parsed.success) return parsed.data;
  // A stack made before the new keys keeps its JWT secret and legacy keys, and gains the rest.
  const old = StackKeys.pick({ jwtSecret: true, anonKey: true, serviceRoleKey: true })
    .safeParse(existing);
  const jwtSecret = old.success ? old.data.jwtSecret : randomToken(40);
  const keys: StackKeys = {
    publishableKey: await newApiKey("publishable"),
    secretKey: await newApiKey("secret"),
    jwtSecret,
    anonKey: old.success
      ? old.data.anonKey
      : await signHs256(jwtSecret, { role: "anon", iss: "supabase-local" }, TEN_YEARS_S),
    serviceRoleKey: old.success ? old.data.serviceRoleKey : await signHs256(
      jwtSecret,
      { role: "service_role", iss: "supabase-local" },
      TEN_YEARS_S,
    ),
  };
  await Deno.mkdir(stackDir, { recursive: true });
  await Deno.writeTextFile(path, JSON.stringify(keys, null, 2), { mode: 0o600 });
  return keys;
}

export function signHs256(
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

/** Loads (creating what is missing) every key of the stack of `config`. */
export async function loadKeyRing(
  config: Pick<StackConfig, "root" | "dir" | "legacyKeys">,
): Promise<KeyRing> {
  const keys = await loadOrCreateStackKeys(config.dir);
  const path = signingKeysPath(config);
  const signing = await loadOrCreateSigningKeys(path);
  const current = signing.find((k) => !k.key_ops || k.key_ops.includes("sign")) ?? signing[0];
  // WebCrypto refuses a private key whose key_ops include "verify"; the CLI writes both.
  const privateKey = await importJWK(
    { ...current, key_ops: undefined, ext: undefined },
    current.alg,
  );
  const publicKeys = new Map<string, { alg: string; key: CryptoKey | Uint8Array }>();
  for (const k of signing) {
    publicKeys.set(k.kid, { alg: k.alg, key: await importJWK(publicJwk(k), k.alg) });
  }
  const legacySecret = new TextEncoder().encode(keys.jwtSecret);
  const legacy = config.legacyKeys;

  return {
    keys,
    legacy,
    signingKeysPath: path,
    jwks: { keys: signing.map((k) => publicJwk(k)) },
    sign(claims, expiresInSeconds) {
      const now = Math.floor(Date.now() / 1000);
      const jwt = new SignJWT(claims).setIssuedAt(now).setExpirationTime(now + expiresInSeconds);
      if (legacy) {
        return jwt.setProtectedHeader({ alg: "HS256", kid: LEGACY_KID, typ: "JWT" })
          .sign(legacySecret);
      }
      return jwt.setProtectedHeader({ alg: current.alg, kid: current.kid, typ: "JWT" })
        .sign(privateKey);
    },
    functionJwks() {
      const keys: Record<string, unknown>[] = signing.map((k) => publicJwk(k));
      if (legacy) {
        keys.push({
          kty: "oct",
          kid: LEGACY_KID,
          alg: "HS256",
          k: btoa(String.fromCharCode(...legacySecret)).replace(/\+/g, "-")
            .replace(/\//g, "_").replace(/=+$/, ""),
        });
      }
      return { keys };
    },
    async verify(token) {
      const header = decodeProtectedHeader(token);
      if (header.alg === "HS256") {
        if (!legacy) throw Object.assign(new Error("legacy JWT secret is off"), { code: "LEGACY" });
        const { payload } = await jwtVerify(token, legacySecret, { algorithms: ["HS256"] });
        return JwtClaims.parse(payload);
      }
      const key = header.kid ? publicKeys.get(header.kid) : undefined;
      if (!key || key.alg !== header.alg) {
        throw Object.assign(new Error("no key in the JWKS for this token"), { code: "NO_KEY" });
      }
      const { payload } = await jwtVerify(token, key.key, { algorithms: [key.alg] });
      return JwtClaims.parse(payload);
    },
    apiKeyRole(apikey) {
      if (equal(apikey, keys.publishableKey)) return "anon";
      if (equal(apikey, keys.secretKey)) return "service_role";
      if (legacy && equal(apikey, keys.anonKey)) return "anon";
      if (legacy && equal(apikey, keys.serviceRoleKey)) return "service_role";
      return null;
    },
  };
}

/** Constant-time string comparison (length leaks, content does not). */
function equal(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  if (x.length !== y.length) return false;
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}
