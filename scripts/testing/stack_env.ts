/**
 * How tests and tools find the Supabase they run against: SUPABASE_URL, SUPABASE_ANON_KEY,
 * SUPABASE_SERVICE_ROLE_KEY and SUPABASE_DB_URL from the environment, else from the local
 * stack's `.stack/env` (STACK_DIR overrides the folder). Point these at a hosted project and
 * the same suites run there.
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { Database } from "../../supabase/functions/_shared/database.types.ts";
import postgres from "postgres";
import { z } from "zod";
import { stackConfig } from "../stack/config.ts";
import { join } from "../stack/paths.ts";

export const StackEnv = z.object({
  SUPABASE_URL: z.url(),
  SUPABASE_ANON_KEY: z.string().min(20),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(20),
  SUPABASE_DB_URL: z.string().startsWith("postgres"),
});
export type StackEnv = z.infer<typeof StackEnv>;

let cached: StackEnv | undefined;

export function stackEnv(): StackEnv {
  if (cached) return cached;
  const fromProcess = Deno.env.toObject();
  if (fromProcess.SUPABASE_URL && fromProcess.SUPABASE_DB_URL) {
    return (cached = StackEnv.parse(fromProcess));
  }
  const path = join(stackConfig().dir, "env");
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    throw new Error(
      `no Supabase to test against: set SUPABASE_* or run \`deno task stack start\` (${path})`,
    );
  }
  const vars = Object.fromEntries(
    text.split("\n").filter((l) => l.includes("=")).map((
      l,
    ) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  return (cached = StackEnv.parse(vars));
}

/** A superuser connection for test setup and for asserting what the database holds. */
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

/** A client with the anon key and no session. */
export function anonClient(): Client {
  const env = stackEnv();
  return createClient<Database>(env.SUPABASE_URL, env.SUPABASE_ANON_KEY, noPersist);
}

/** A client with the service-role key (bypasses RLS). */
export function serviceClient(): Client {
  const env = stackEnv();
  return createClient<Database>(env.SUPABASE_URL, env.SUPABASE_SERVICE_ROLE_KEY, noPersist);
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
