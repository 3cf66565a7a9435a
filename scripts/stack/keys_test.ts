/**
 * The stack's keys: a signing keys file in exactly the format the real CLI writes
 * (`supabase gen signing-key --algorithm ES256`), tokens with `kid`, a public-only JWKS, API keys
 * and the legacy switch.
 */
import assert from "node:assert/strict";
import { decodeProtectedHeader, SignJWT } from "jose";
import { join } from "node:path";
import { loadKeyRing } from "./keys.ts";
import { newSigningJwk, SigningKeysFile } from "../lib/supabase_cli.ts";

const cli = new URL("../tools/node_modules/.bin/supabase", import.meta.url).pathname;

/** What the real CLI prints for one ES256 key (run once), or null without the CLI. */
let cliKeyOnce: Promise<Record<string, unknown> | null> | undefined;
const cliKey = () => cliKeyOnce ??= runCli();

async function runCli(): Promise<Record<string, unknown> | null> {
  try {
    const out = await new Deno.Command(cli, {
      args: ["gen", "signing-key", "--algorithm", "ES256"],
      cwd: await Deno.makeTempDir(),
      env: { DO_NOT_TRACK: "1", SUPABASE_TELEMETRY_DISABLED: "1" },
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success ? JSON.parse(new TextDecoder().decode(out.stdout)) : null;
  } catch {
    return null;
  }
}

/** A fake repo root whose config.toml points at `signingKeys` (or at nothing). */
async function fakeRoot(signingKeys?: unknown[]): Promise<string> {
  const root = await Deno.makeTempDir();
  await Deno.mkdir(join(root, "supabase"));
  await Deno.writeTextFile(
    join(root, "supabase/config.toml"),
    '[auth]\nsigning_keys_path = "./signing_keys.json"\n',
  );
  if (signingKeys) {
    await Deno.writeTextFile(join(root, "supabase/signing_keys.json"), JSON.stringify(signingKeys));
  }
  return root;
}

Deno.test("a new signing key has the fields, in the order, the Supabase CLI writes", async () => {
  const mine = await newSigningJwk();
  const theirs = await cliKey();
  if (!theirs) {
    console.log("skipped the comparison: no Supabase CLI in scripts/tools");
  } else {
    assert(
      Object.keys(mine).join() === Object.keys(theirs).join(),
      `fields ${Object.keys(mine)} vs CLI ${Object.keys(theirs)}`,
    );
    for (const k of ["kty", "use", "alg", "crv", "ext"] as const) {
      assert(JSON.stringify(mine[k]) === JSON.stringify(theirs[k]), `${k} differs`);
    }
    assert(JSON.stringify(mine.key_ops) === JSON.stringify(theirs.key_ops), "key_ops differ");
  }
  assert(SigningKeysFile.safeParse([mine]).success, "our key is no signing keys file");
});

Deno.test("the CLI's key file signs tokens with its kid; the JWKS holds public parts only", async () => {
  const key = (await cliKey()) ?? await newSigningJwk();
  const root = await fakeRoot([key]);
  const dir = await Deno.makeTempDir();
  const ring = await loadKeyRing({ root, dir, legacyKeys: false });
  assert(ring.signingKeysPath === join(root, "supabase/signing_keys.json"), "config path unused");
  const token = await ring.sign({ role: "authenticated", sub: crypto.randomUUID() }, 60);
  const header = decodeProtectedHeader(token);
  assert(header.alg === "ES256" && header.kid === key.kid, `header ${JSON.stringify(header)}`);
  assert((await ring.verify(token)).role === "authenticated", "own token not verified");
  for (const k of ring.jwks.keys) {
    for (const m of ["d", "p", "q", "dp", "dq", "qi", "k"]) assert(!(m in k), `JWKS has ${m}`);
  }
  assert(ring.functionJwks().keys.every((k) => !("d" in k)), "SUPABASE_JWKS has a private key");
  // The stack made nothing in its own folder: it used the configured file.
  assert(
    !(await Deno.stat(join(dir, "signing_keys.json")).then(() => true, () => false)),
    "a second key was made",
  );
});

Deno.test("without the configured file the stack makes one in its own folder", async () => {
  const root = await fakeRoot();
  const dir = await Deno.makeTempDir();
  const ring = await loadKeyRing({ root, dir, legacyKeys: false });
  assert(ring.signingKeysPath === join(dir, "signing_keys.json"), `used ${ring.signingKeysPath}`);
  assert(
    !(await Deno.stat(join(root, "supabase/signing_keys.json")).then(() => true, () => false)),
    "wrote into the repo",
  );
  const again = await loadKeyRing({ root, dir, legacyKeys: false });
  assert(again.jwks.keys[0].kid === ring.jwks.keys[0].kid, "key not kept across starts");
  assert(again.keys.secretKey === ring.keys.secretKey, "API keys not kept across starts");
});

Deno.test("API keys map to roles; legacy keys and HS256 tokens only with the switch", async () => {
  const root = await fakeRoot();
  const dir = await Deno.makeTempDir();
  const off = await loadKeyRing({ root, dir, legacyKeys: false });
  const on = await loadKeyRing({ root, dir, legacyKeys: true });
  const k = off.keys;
  assert(/^sb_publishable_[\w-]{22}_[\w]{8}$/.test(k.publishableKey), k.publishableKey);
  assert(/^sb_secret_[\w-]{22}_[\w]{8}$/.test(k.secretKey), "secret key shape");
  assert(off.apiKeyRole(k.publishableKey) === "anon", "publishable");
  assert(off.apiKeyRole(k.secretKey) === "service_role", "secret");
  assert(off.apiKeyRole(`${k.secretKey}x`) === null, "a near miss");
  assert(off.apiKeyRole(k.anonKey) === null && off.apiKeyRole(k.serviceRoleKey) === null, "legacy");
  assert(on.apiKeyRole(k.anonKey) === "anon", "legacy anon with the switch");
  assert(on.apiKeyRole(k.serviceRoleKey) === "service_role", "legacy service_role");
  const hs = await new SignJWT({ role: "anon" }).setProtectedHeader({ alg: "HS256" })
    .setExpirationTime("1h").sign(new TextEncoder().encode(k.jwtSecret));
  let refused = false;
  await off.verify(hs).catch(() => (refused = true));
  assert(refused, "an HS256 token verified with legacy off");
  assert((await on.verify(hs)).role === "anon", "HS256 refused with legacy on");
  const legacyToken = await on.sign({ role: "authenticated" }, 60);
  assert(decodeProtectedHeader(legacyToken).kid === "legacy", "legacy tokens carry kid legacy");
  assert(on.functionJwks().keys.some((x) => x.kty === "oct"), "legacy secret not in SUPABASE_JWKS");
  assert(!off.functionJwks().keys.some((x) => x.kty === "oct"), "legacy secret leaked when off");
});

Deno.test("a stack made before the new keys keeps its legacy secret and gains the new keys", async () => {
  const root = await fakeRoot();
  const dir = await Deno.makeTempDir();
  const legacy = {
    jwtSecret: "x".repeat(40),
    anonKey: "eyJ.anon.sig",
    serviceRoleKey: "eyJ.sr.sig",
  };
  await Deno.writeTextFile(join(dir, "keys.json"), JSON.stringify(legacy));
  const ring = await loadKeyRing({ root, dir, legacyKeys: true });
  assert(ring.keys.jwtSecret === legacy.jwtSecret, "legacy secret replaced");
  assert(ring.apiKeyRole(legacy.anonKey) === "anon", "old anon key lost");
  assert(ring.keys.publishableKey.startsWith("sb_publishable_"), "no publishable key added");
});
