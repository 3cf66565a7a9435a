/// <reference path="./vite-env.d.ts" />
/** The one Supabase client of the app, and the anonymous sign-in on first visit. */
import { createClient, type User } from "@supabase/supabase-js";
import { captchaConfig, captchaToken } from "./captcha.ts";
import type { Database } from "../../supabase/functions/_shared/database.types.ts";

// Same origin as the page unless the build says otherwise. The publishable key
// (`sb_publishable_…`) is public by design; a browser must never hold the secret key.
const url = import.meta.env.VITE_SUPABASE_URL || globalThis.location.origin;
const publishableKey = import.meta.env.VITE_SUPABASE_PUBLISHABLE_KEY as string | undefined;

/** Where the Supabase APIs are (for clients other than supabase-js, e.g. TUS uploads). */
export const supabaseUrl: string = url;
/** The project's publishable key (`apikey` header of every request). */
export const supabasePublishableKey: string = publishableKey || "missing-publishable-key";

// Without a key the client is still built so the page can say what is wrong (ensureSignedIn).
export const supabase = createClient<Database>(url, supabasePublishableKey, {
  auth: { persistSession: true, autoRefreshToken: true },
});

/** The signed-in user, signing in anonymously when there is no stored session. */
export async function ensureSignedIn(): Promise<User> {
  if (!publishableKey) {
    throw new Error(
      "This build has no VITE_SUPABASE_PUBLISHABLE_KEY; rebuild with `deno task web:build`.",
    );
  }
  const { data } = await supabase.auth.getSession();
  if (data.session?.user) return data.session.user;
  const captcha = captchaConfig();
  const { data: signedIn, error } = await supabase.auth.signInAnonymously(
    captcha ? { options: { captchaToken: await captchaToken(captcha) } } : undefined,
  );
  if (error || !signedIn.user) throw new Error(`Could not sign in: ${error?.message ?? "no user"}`);
  return signedIn.user;
}
