/**
 * Builds web/ into web/dist with its own pinned npm toolchain (web/package.json).
 *
 * The app needs the project's publishable key at build time (VITE_SUPABASE_PUBLISHABLE_KEY;
 * public by design — never the secret key). Unless the environment sets it, it is read from the
 * local stack's `env` file (`$STACK_DIR/env`, default `.stack/env`), so the stack must have been
 * started once (without it the build still succeeds, with a warning, and the page reports the
 * missing key). VITE_SUPABASE_URL is optional: without it the app talks to the origin that
 * served it.
 */
import { localStackDir, repoRoot } from "../lib/repo.ts";
import { readStackEnvFile } from "../lib/env_file.ts";
import { join } from "node:path";

/**
 * The VITE_* variables for the build: `publishableKey` when given (a caller that already knows
 * its Supabase), else from the environment, else from the stack's env file.
 */
export function webBuildEnv(
  stackDir = localStackDir(),
  publishableKey?: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  const fromProcess = publishableKey ?? Deno.env.get("VITE_SUPABASE_PUBLISHABLE_KEY");
  const url = Deno.env.get("VITE_SUPABASE_URL");
  if (url) env.VITE_SUPABASE_URL = url;
  // Sign-in CAPTCHA for a hosted project (web/src/captcha.ts); absent, the app loads none.
  for (const name of ["VITE_CAPTCHA_PROVIDER", "VITE_CAPTCHA_SITE_KEY"]) {
    const value = Deno.env.get(name);
    if (value) env[name] = value;
  }
  if (fromProcess) return { ...env, VITE_SUPABASE_PUBLISHABLE_KEY: fromProcess };
  const vars = readStackEnvFile(stackDir);
  if (!vars) {
    // Not fatal, so `deno task dev` on a fresh checkout still builds; the page then says so.
    console.warn(
      `web build: no VITE_SUPABASE_PUBLISHABLE_KEY and no ${join(stackDir, "env")}; the app ` +
        "will not sign in. Start the stack first (`deno task stack start`) or set " +
        "VITE_SUPABASE_PUBLISHABLE_KEY.",
    );
    return env;
  }
  const key = vars.SUPABASE_PUBLISHABLE_KEY;
  if (!key) throw new Error(`web build: ${join(stackDir, "env")} has no SUPABASE_PUBLISHABLE_KEY`);
  return { ...env, VITE_SUPABASE_PUBLISHABLE_KEY: key };
}

export async function buildWeb(
  root: string,
  stackDir?: string,
  publishableKey?: string,
): Promise<void> {
  const web = join(root, "web");
  const hasApp = await Deno.stat(join(web, "package.json")).then(() => true, () => false);
  if (!hasApp) return;
  const env = webBuildEnv(stackDir, publishableKey);
  for (
    const args of [["install", "--no-audit", "--no-fund", "--loglevel=error"], ["run", "build"]]
  ) {
    const out = await new Deno.Command("npm", {
      args,
      cwd: web,
      env,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!out.success) throw new Error(`npm ${args[0]} in web/ failed`);
  }
}

if (import.meta.main) {
  await buildWeb(repoRoot);
}
