/** The one Supabase client of the app, and the anonymous sign-in on first visit. */
import { createClient, type User } from "@supabase/supabase-js";
import type { Database } from "../../supabase/functions/_shared/database.types.ts";

// Same origin as the page unless the build says otherwise; the anon key is public by design.
const url = import.meta.env.VITE_SUPABASE_URL || window.location.origin;
const anonKey = import.meta.env.VITE_SUPABASE_ANON_KEY as string | undefined;

/** Where the Supabase APIs are (for clients other than supabase-js, e.g. TUS uploads). */
export const supabaseUrl: string = url;
/** The public anon key (`apikey` header of every request). */
export const supabaseAnonKey: string = anonKey || "missing-anon-key";

// Without a key the client is still built so the page can say what is wrong (ensureSignedIn).
export const supabase = createClient<Database>(url, anonKey || "missing-anon-key", {
  auth: { persistSession: true, autoRefreshToken: true },
});

/** The signed-in user, signing in anonymously when there is no stored session. */
export async function ensureSignedIn(): Promise<User> {
  if (!anonKey) {
    throw new Error("This build has no VITE_SUPABASE_ANON_KEY; rebuild with `deno task web:build`.");
  }
  const { data } = await supabase.auth.getSession();
  if (data.session?.user) return data.session.user;
  const { data: signedIn, error } = await supabase.auth.signInAnonymously();
  if (error || !signedIn.user) throw new Error(`Could not sign in: ${error?.message ?? "no user"}`);
  return signedIn.user;
}
