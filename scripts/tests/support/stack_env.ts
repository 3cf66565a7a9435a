/**
 * How tests and tools find the Supabase they run against: SUPABASE_URL,
 * SUPABASE_PUBLISHABLE_KEY, SUPABASE_SECRET_KEY and SUPABASE_DB_URL from the environment, else
 * from the local stack's `.stack/env` (STACK_DIR overrides the folder). Point these at a hosted
 * project and the same suites run there.
 *
 * With STACK_LEGACY_KEYS=1 (the legacy run of `deno task test`) clients use the legacy JWT keys
 * instead (SUPABASE_ANON_KEY / SUPABASE_SERVICE_ROLE_KEY), as an app made for a project created
 * earlier does.
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { Database } from "../../../supabase/functions/_shared/database.types.ts";
import postgres from "postgres";
import { z } from "zod";
import { stackConfig } from "../../stack/config.ts";
import { readStackEnvFile } from "../../lib/env_file.ts";
import { join } from "node:path";

export const StackEnv = z.object({
  SUPABASE_URL: z.url(),
  SUPABASE_PUBLISHABLE_KEY: z.string().min(20),
  SUPABASE_SECRET_KEY: z.string().min(20),
  SUPABASE_DB_URL: z.string().startsWith("postgres"),
  SUPABASE_ANON_KEY: z.string().min(20).optional(),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(20).optional(),
});
export type StackEnv = z.infer<typeof StackEnv>;

let cached: StackEnv | undefined;

export function stackEnv(): StackEnv {
  if (cached) return cached;
  const fromProcess = Deno.env.toObject();
  if (fromProcess.SUPABASE_URL && fromProcess.SUPABASE_DB_URL) {
    return (cached = StackEnv.parse(fromProcess));
  }
  const dir = stackConfig().dir;
  const vars = readStackEnvFile(dir);
  if (!vars) {
    throw new Error(
      `no Supabase to test against: set SUPABASE_* or run \`deno task stack start\` (${
        join(dir, "env")
      })`,
    );
  }
  return (cached = StackEnv.parse(vars));
}

/** Whether this run uses the legacy JWT keys (STACK_LEGACY_KEYS=1). */
export function legacyKeys(): boolean {
  return Deno.env.get("STACK_LEGACY_KEYS") === "1";
}

/**
 * The API keys clients of this run use: `publishable` (browsers, CLIs; role anon) and `secret`
 * (servers; role service_role) — the legacy anon / service_role JWT keys in the legacy run.
 */
export function apiKeys(): { publishable: string; secret: string } {
  const env = stackEnv();
  if (!legacyKeys()) {
    return { publishable: env.SUPABASE_PUBLISHABLE_KEY, secret: env.SUPABASE_SECRET_KEY };
  }
  if (!env.SUPABASE_ANON_KEY || !env.SUPABASE_SERVICE_ROLE_KEY) {
    throw new Error("STACK_LEGACY_KEYS=1 but the stack gave no SUPABASE_ANON_KEY/SERVICE_ROLE_KEY");
  }
  return { publishable: env.SUPABASE_ANON_KEY, secret: env.SUPABASE_SERVICE_ROLE_KEY };
}

/**
 * The project's `postgres` connection (SUPABASE_DB_URL; not a superuser, as on a hosted project)
 * for test setup and for asserting what the database holds.
 */
export function adminSql(): postgres.Sql {
  return postgres(stackEnv().SUPABASE_DB_URL, { max: 4, onnotice: () => {} });
}

const noPersist = { auth: { persistSession: false, autoRefreshToken: false } } as const;

/** A supabase-js client typed by the generated database types. */
export type Client = SupabaseClient<Database>;

/**
 * The same client without the product's types, for what they rightly forbid: the stack's
 * conformance suite on its own scratch tables, and security tests that call what a user must
 * not (unknown functions, entry points of other roles).
 */
export const untyped = (client: Client): SupabaseClient => client as unknown as SupabaseClient;

/** A client with the publishable key (role anon) and no session. */
export function anonClient(): Client {
  return createClient<Database>(stackEnv().SUPABASE_URL, apiKeys().publishable, noPersist);
}

/** A client with the secret key (role service_role, bypasses RLS). */
export function serviceClient(): Client {
  return createClient<Database>(stackEnv().SUPABASE_URL, apiKeys().secret, noPersist);
}

/** A fresh anonymous user, signed in. */
export async function signedInClient(): Promise<{ client: Client; userId: string }> {
  const client = anonClient();
  const { data, error } = await client.auth.signInAnonymously();
  if (error || !data.user) throw new Error(`anonymous sign-in failed: ${error?.message}`);
  return { client, userId: data.user.id };
}

/** A fresh anonymous user with its access token, for requests made without supabase-js. */
export interface SignedInUser {
  client: Client;
  id: string;
  token: string;
}

export async function signedInUser(): Promise<SignedInUser> {
  const { client, userId } = await signedInClient();
  const { data } = await client.auth.getSession();
  return { client, id: userId, token: data.session!.access_token };
}
