/**
 * The one Supabase client of the app, made from config.json (app_config.ts) before anything
 * else runs, and the anonymous sign-in on first visit.
 */
import { createClient, type SupabaseClient, type User } from "@supabase/supabase-js";
import { loadAppConfig } from "./app_config.ts";
import { captchaToken } from "./captcha.ts";
import type { Database } from "../../supabase/functions/_shared/database.types.ts";

/** The client; set by `ensureSignedIn`, which the page awaits before anything else. */
export let supabase: SupabaseClient<Database>;
/** Where the Supabase APIs are (for clients other than supabase-js, e.g. TUS uploads). */
export let supabaseUrl = "";
/** The project's publishable key (`apikey` header of every request). */
export let supabasePublishableKey = "";

/** The signed-in user (anonymously on first visit), once the project is known. */
export async function ensureSignedIn(): Promise<User> {
  const config = await loadAppConfig(document.baseURI);
  supabaseUrl = config.supabaseUrl;
  supabasePublishableKey = config.publishableKey;
  supabase = createClient<Database>(supabaseUrl, supabasePublishableKey, {
    auth: { persistSession: true, autoRefreshToken: true },
  });
  const { data } = await supabase.auth.getSession();
  if (data.session?.user) return data.session.user;
  const { data: signedIn, error } = await supabase.auth.signInAnonymously(
    config.captcha ? { options: { captchaToken: await captchaToken(config.captcha) } } : undefined,
  );
  if (error || !signedIn.user) throw new Error(`Could not sign in: ${error?.message ?? "no user"}`);
  return signedIn.user;
}
