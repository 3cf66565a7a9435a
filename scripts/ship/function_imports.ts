/**
 * Each Edge Function's own `deno.json`, the import map `supabase functions deploy` and
 * `supabase functions serve` upload with it. The CLI looks for `--import-map`, then
 * `[functions.<name>] import_map` in config.toml, then the function folder's `deno.json`,
 * `deno.jsonc` or `import_map.json`, then `supabase/functions/import_map.json`; it never reads
 * the repository's root `deno.json` (supabase/cli, `internal/functions/deploy/deploy.go`,
 * `GetFunctionConfig`). So every function carries a map of exactly the packages its module graph
 * imports, each pinned to the version in the root `deno.json`: the one place versions are set.
 *
 *   deno task functions:imports          write every function's deno.json
 *   deno task functions:imports --check  exit 1, writing nothing, when one is missing or stale
 */
import { join } from "node:path";

const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
export const functionsDir = join(root, "supabase/functions");

/** The root deno.json's `imports`: every package version, pinned once. */
export async function pinnedImports(): Promise<Record<string, string>> {
  const config = JSON.parse(await Deno.readTextFile(join(root, "deno.json")));
  return config.imports as Record<string, string>;
}

/** The functions of a functions folder, by the CLI's rule (`<slug>/index.ts`; `_shared` and dot folders excluded). */
export async function functionNames(dir = functionsDir): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isDirectory || entry.name.startsWith("_") || entry.name.startsWith(".")) continue;
    const hasIndex = await Deno.stat(join(dir, entry.name, "index.ts")).then(
      () => true,
      () => false,
    );
    if (hasIndex) names.push(entry.name);
  }
  return names.sort();
}

/**
 * The bare specifiers (`zod`, `@supabase/server/core`, …) reachable from a function's
 * entrypoint, read from `deno info --json` run with the root map, reduced to package names.
 */
export async function packagesOf(entrypoint: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--config", join(root, "deno.json"), entrypoint],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`deno info ${entrypoint}: ${new TextDecoder().decode(out.stderr)}`);
  }
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string; dependencies?: { specifier: string }[] }[];
  };
  const packages = new Set<string>();
  for (const module of graph.modules) {
    if (!module.specifier.startsWith("file:")) continue;
    for (const dependency of module.dependencies ?? []) {
      const s = dependency.specifier;
      if (/^(\.|\/|file:|node:|npm:|https?:|data:)/.test(s)) continue;
      const parts = s.split("/");
      packages.add(s.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]);
    }
  }
  return [...packages].sort();
}

/** The deno.json a function should carry: its packages, at the root's pinned versions. */
export async function importMapFor(
  name: string,
  pins?: Record<string, string>,
): Promise<string> {
  const pinned = pins ?? await pinnedImports();
  const imports: Record<string, string> = {};
  for (const pkg of await packagesOf(join(functionsDir, name, "index.ts"))) {
    if (!(pkg in pinned)) {
      throw new Error(`${name} imports ${pkg}, which the root deno.json does not pin`);
    }
    imports[pkg] = pinned[pkg];
  }
  return JSON.stringify({ imports }, null, 2) + "\n";
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  const pins = await pinnedImports();
  let stale = 0;
  for (const name of await functionNames()) {
    const path = join(functionsDir, name, "deno.json");
    const wanted = await importMapFor(name, pins);
    const current = await Deno.readTextFile(path).catch(() => null);
    if (current === wanted) continue;
    stale++;
    if (check) console.error(`${path} is ${current === null ? "missing" : "stale"}`);
    else {
      await Deno.writeTextFile(path, wanted);
      console.log(`wrote ${path}`);
    }
  }
  if (check && stale) {
    console.error("run: deno task functions:imports");
    Deno.exit(1);
  }
}
