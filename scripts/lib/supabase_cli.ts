/**
 * Running the real Supabase CLI from this repository: where the binary is, and the env it needs.
 *
 * The CLI refuses every command while config.toml's `[auth] signing_keys_path` names a missing
 * file, and that file (supabase/signing_keys.json) is local-only and git-ignored. So every
 * caller (deploy, type generation, the local stack) points it (SUPABASE_AUTH_SIGNING_KEYS_PATH)
 * at the file in use: config.toml's when it exists, else `<stack dir>/signing_keys.json`, made
 * on first use in the format `supabase gen signing-key --algorithm ES256` writes (a JSON array
 * of private JWKs, the first one signs).
 */
import { exportJWK, generateKeyPair } from "jose";
import { parse as parseToml } from "smol-toml";
import { z } from "zod";
import { dirname, join } from "node:path";

/** One private key of a signing keys file (what `supabase gen signing-key` prints). */
export const PrivateSigningJwk = z.looseObject({
  kty: z.enum(["EC", "RSA"]),
  kid: z.string().min(1),
  alg: z.enum(["ES256", "RS256"]),
  d: z.string().min(1),
  key_ops: z.array(z.string()).optional(),
});
export type PrivateSigningJwk = z.infer<typeof PrivateSigningJwk>;
export const SigningKeysFile = z.array(PrivateSigningJwk).min(1);

/** The repository (`root`) and the local stack directory (`dir`) whose key file is the fallback. */
export interface CliPlaces {
  root: string;
  dir: string;
}

/** The pinned Supabase CLI of scripts/tools (what the stack and the tests run). */
export const pinnedSupabaseCli = (root: string) =>
  join(root, "scripts/tools/node_modules/.bin/supabase");

/** The `supabase` on PATH, else the pinned one in scripts/tools. */
export async function supabaseCliPath(root: string): Promise<string> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    const candidate = join(dir || ".", "supabase");
    if (await Deno.stat(candidate).then((s) => s.isFile, () => false)) return candidate;
  }
  return pinnedSupabaseCli(root);
}

/** A private ES256 JWK with the fields and order `supabase gen signing-key` writes. */
export async function newSigningJwk(): Promise<PrivateSigningJwk> {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = await exportJWK(privateKey);
  return {
    kty: "EC",
    kid: crypto.randomUUID(),
    use: "sig",
    key_ops: ["sign", "verify"],
    alg: "ES256",
    ext: true,
    d: jwk.d!,
    crv: "P-256",
    x: jwk.x!,
    y: jwk.y!,
  };
}

/** `[auth] signing_keys_path` of supabase/config.toml, resolved against supabase/; or null. */
export function configuredSigningKeysPath(root: string): string | null {
  try {
    const toml = parseToml(Deno.readTextFileSync(join(root, "supabase/config.toml"))) as {
      auth?: { signing_keys_path?: string };
    };
    const path = toml.auth?.signing_keys_path;
    if (!path) return null;
    return path.startsWith("/") ? path : join(root, "supabase", path.replace(/^\.\//, ""));
  } catch {
    return null;
  }
}

/**
 * The signing keys file in use: config.toml's path when that file exists, else the stack's own
 * `<stack dir>/signing_keys.json`.
 */
export function signingKeysPath(places: CliPlaces): string {
  const configured = configuredSigningKeysPath(places.root);
  if (configured) {
    try {
      Deno.statSync(configured);
      return configured;
    } catch { /* missing: the stack's own */ }
  }
  return join(places.dir, "signing_keys.json");
}

/**
 * Env for running the Supabase CLI in this repository (see the module comment): telemetry off
 * (no traffic may leave loopback) and the signing keys file.
 */
export function supabaseCliEnv(places: CliPlaces): Record<string, string> {
  return {
    DO_NOT_TRACK: "1",
    SUPABASE_TELEMETRY_DISABLED: "1",
    SUPABASE_AUTH_SIGNING_KEYS_PATH: signingKeysPath(places),
  };
}

/** supabaseCliEnv, making the stack's own key file first when there is none yet. */
export async function ensureSupabaseCliEnv(places: CliPlaces): Promise<Record<string, string>> {
  await loadOrCreateSigningKeys(signingKeysPath(places));
  return supabaseCliEnv(places);
}

/** The keys of the signing keys file at `path`, made with one new ES256 key when missing. */
export async function loadOrCreateSigningKeys(path: string): Promise<PrivateSigningJwk[]> {
  let existing: unknown = null;
  try {
    existing = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw new Error(`${path}: ${(e as Error).message}`);
  }
  if (existing !== null) {
    const parsed = SigningKeysFile.safeParse(existing);
    if (!parsed.success) {
      throw new Error(
        `${path} is not a signing keys file (a JSON array of private JWKs, as ` +
          "`supabase gen signing-key --algorithm ES256` writes)",
      );
    }
    return parsed.data;
  }
  const keys = [await newSigningJwk()];
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.writeTextFile(path, JSON.stringify(keys, null, 2) + "\n", { mode: 0o600 });
  return keys;
}
