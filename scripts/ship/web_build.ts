/**
 * Builds web/ into web/dist with its own pinned npm toolchain (web/package.json): one build for
 * every project. Nothing about a project is baked in: the app reads its Supabase URL and
 * publishable key at run time from `config.json` beside index.html (web/src/app_config.ts).
 * Each local stack's gateway serves its own; `deno task deploy` writes one for a hosted project.
 */
import { join } from "node:path";
import { repoRoot } from "../lib/repo.ts";

/** Runs `npm install` and `npm run build` in web/ (`buildArgs` go to the build, e.g. --outDir). */
export async function buildWeb(root = repoRoot, buildArgs: string[] = []): Promise<void> {
  const web = join(root, "web");
  const hasApp = await Deno.stat(join(web, "package.json")).then(() => true, () => false);
  if (!hasApp) return;
  const steps = [
    ["install", "--no-audit", "--no-fund", "--loglevel=error"],
    ["run", "build", ...(buildArgs.length ? ["--", ...buildArgs] : [])],
  ];
  for (const args of steps) {
    const out = await new Deno.Command("npm", {
      args,
      cwd: web,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!out.success) throw new Error(`npm ${args[0]} in web/ failed`);
  }
}

if (import.meta.main) await buildWeb();
