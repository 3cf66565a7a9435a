/**
 * Stack-only: a token signed with the local stack's current signing key (as Auth signs them),
 * for tests that need a token Auth would not issue (short-lived, other claims). Null when the
 * tests run against a project whose private key this machine does not hold.
 */
import { stackConfig } from "../../stack/config.ts";
import { type KeyRing, loadKeyRing } from "../../stack/keys.ts";
import { join } from "node:path";

let ring: Promise<KeyRing | null> | undefined;

export function localKeyRing(): Promise<KeyRing | null> {
  if (Deno.env.get("SUPABASE_URL")) return Promise.resolve(null);
  const config = stackConfig();
  return ring ??= Deno.stat(join(config.dir, "keys.json")).then(
    () => loadKeyRing(config),
    () => null,
  );
}

export async function mintToken(
  claims: Record<string, unknown>,
  expiresInSeconds: number,
): Promise<string | null> {
  const keys = await localKeyRing();
  return keys ? await keys.sign(claims, expiresInSeconds) : null;
}
