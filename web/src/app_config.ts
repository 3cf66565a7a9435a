/**
 * Which Supabase project the app talks to, read at run time from `config.json` beside
 * index.html, so one build serves every project (nothing is baked into the JavaScript). A
 * local stack's gateway serves its own; `deno task deploy` writes one for a hosted project:
 *
 *   {"supabaseUrl": "https://<ref>.supabase.co", "publishableKey": "sb_publishable_…"}
 *
 * `supabaseUrl` may be left out when the page is served from the project's own origin (the
 * local stack). `captcha` turns on the sign-in CAPTCHA of a hosted project (captcha.ts). The
 * publishable key is public by design; a browser must never hold the secret key.
 */
import { z } from "zod";

export const AppConfig = z.object({
  supabaseUrl: z.url().optional(),
  publishableKey: z.string().min(20),
  captcha: z.object({
    provider: z.enum(["hcaptcha", "turnstile"]),
    siteKey: z.string().min(1),
  }).optional(),
});
export type AppConfig = z.infer<typeof AppConfig>;

/** config.json next to the page at `pageUrl`; throws a message for the user when unusable. */
export async function loadAppConfig(
  pageUrl: string,
  fetchFile: typeof fetch = fetch,
): Promise<AppConfig & { supabaseUrl: string }> {
  const url = new URL("config.json", pageUrl);
  let response;
  try {
    response = await fetchFile(url, { cache: "no-cache" });
  } catch {
    throw new Error("Could not reach this site to read its config.json; reload to try again.");
  }
  if (!response.ok) {
    throw new Error(
      `This site has no config.json beside index.html (HTTP ${response.status}): it names the ` +
        "Supabase project to use (its URL and publishable key).",
    );
  }
  const parsed = AppConfig.safeParse(await response.json().catch(() => null));
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => i.path.join(".") || "the file").join(", ");
    throw new Error(`This site's config.json is not valid (${where}).`);
  }
  return { ...parsed.data, supabaseUrl: parsed.data.supabaseUrl ?? url.origin };
}
