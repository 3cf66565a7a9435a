/** Builds web/ into web/dist with its own pinned npm toolchain (web/package.json). */
import { join } from "./stack/paths.ts";

export async function buildWeb(root: string): Promise<void> {
  const web = join(root, "web");
  const hasApp = await Deno.stat(join(web, "package.json")).then(() => true, () => false);
  if (!hasApp) return;
  for (
    const args of [["install", "--no-audit", "--no-fund", "--loglevel=error"], ["run", "build"]]
  ) {
    const out = await new Deno.Command("npm", {
      args,
      cwd: web,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!out.success) throw new Error(`npm ${args[0]} in web/ failed`);
  }
}

if (import.meta.main) {
  await buildWeb(join(new URL("..", import.meta.url).pathname));
}
