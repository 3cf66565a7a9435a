/**
 * The one place a step builds its Supabase client: the project's secret key (bypasses RLS), no
 * session, env validated. The key comes from SUPABASE_SECRET_KEYS (the JSON object of named
 * secret keys the platform gives every function; its `default`), and only on a project whose
 * legacy keys are all it has, from SUPABASE_SERVICE_ROLE_KEY.
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { z } from "zod";
import type { Database } from "../database.types.ts";

const FunctionEnv = z.object({
  SUPABASE_URL: z.url(),
  SUPABASE_SECRET_KEYS: z.string().optional(),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(20).optional(),
});

const SecretKeys = z.record(z.string(), z.string().startsWith("sb_secret_"));

/** The key a function calls Supabase with: `default` of SUPABASE_SECRET_KEYS, else legacy. */
export function secretKeyFrom(env: Record<string, string | undefined>): string {
  const parsed = FunctionEnv.parse(env);
  if (parsed.SUPABASE_SECRET_KEYS) {
    const keys = SecretKeys.safeParse(JSON.parse(parsed.SUPABASE_SECRET_KEYS));
    if (!keys.success) throw new Error("SUPABASE_SECRET_KEYS is not an object of sb_secret_ keys");
    const key = keys.data.default ?? Object.values(keys.data)[0];
    if (key) return key;
  }
  if (parsed.SUPABASE_SERVICE_ROLE_KEY) return parsed.SUPABASE_SERVICE_ROLE_KEY;
  throw new Error("no secret key: SUPABASE_SECRET_KEYS (or legacy SUPABASE_SERVICE_ROLE_KEY)");
}

/** The product's client type: supabase-js typed by the generated schema (database.types.ts). */
export type Client = SupabaseClient<Database>;

let client: Client | undefined;

export function serviceClient(): Client {
  if (client) return client;
  const env = Deno.env.toObject();
  client = createClient<Database>(FunctionEnv.parse(env).SUPABASE_URL, secretKeyFrom(env), {
    auth: { persistSession: false, autoRefreshToken: false },
  });
  return client;
}

/** The private bucket that holds uploaded media (see supabase/schemas). */
export const MEDIA_BUCKET = "media";
