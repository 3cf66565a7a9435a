/** The one place a step builds its Supabase client: service role, no session, env validated. */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { z } from "zod";
import type { Database } from "./database.types.ts";

const FunctionEnv = z.object({
  SUPABASE_URL: z.url(),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(20),
});

/** The product's client type: supabase-js typed by the generated schema (database.types.ts). */
export type Client = SupabaseClient<Database>;

let client: Client | undefined;

export function serviceClient(): Client {
  if (client) return client;
  const env = FunctionEnv.parse(Deno.env.toObject());
  client = createClient<Database>(env.SUPABASE_URL, env.SUPABASE_SERVICE_ROLE_KEY, {
    auth: { persistSession: false, autoRefreshToken: false },
  });
  return client;
}

/** The private bucket that holds uploaded media (see supabase/schemas). */
export const MEDIA_BUCKET = "media";
