/**
 * The files a module reaches through relative imports (static, `export … from`, dynamic
 * `import()`) and `new URL("…", import.meta.url)` references (workers, bundled files), read
 * with regular expressions so the walk needs neither the network nor a type check. Bare and
 * `npm:` specifiers are packages and end the walk.
 */
import { dirname, extname, resolve } from "node:path";

const SPECIFIERS = [
  /\b(?:import|export)\s[^"'`;]*?\bfrom\s*["']([^"']+)["']/g,
  /\bimport\s*["']([^"']+)["']/g,
  /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
  /\bnew\s+URL\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g,
];
const CODE = new Set([".ts", ".tsx", ".js", ".mjs", ".mts"]);

/** Relative specifiers `source` names, in order of appearance. */
export function relativeSpecifiers(source: string): string[] {
  const found: { at: number; spec: string }[] = [];
  for (const pattern of SPECIFIERS) {
    for (const m of source.matchAll(pattern)) {
      if (m[1].startsWith("./") || m[1].startsWith("../")) found.push({ at: m.index, spec: m[1] });
    }
  }
  return found.sort((a, b) => a.at - b.at).map((f) => f.spec);
}

/** One edge that breaks a rule: `from` refers to `to`. */
export interface Edge {
  from: string;
  to: string;
}

/**
 * Walks every file reachable from `entries` (absolute paths) and returns each edge whose target
 * lies under one of `forbidden` (absolute folders). Referenced files that do not exist are
 * reported with `to` ending in " (missing)", so a typo cannot hide an edge. A folder (the
 * repository root by `new URL("../..", import.meta.url)`) is a place, not an import: allowed
 * unless forbidden.
 */
export async function forbiddenEdges(entries: string[], forbidden: string[]): Promise<Edge[]> {
  const seen = new Set<string>();
  const bad: Edge[] = [];
  const queue = [...entries];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = await Deno.readTextFile(file);
    for (const spec of relativeSpecifiers(source)) {
      const to = resolve(dirname(file), spec.split(/[?#]/)[0]);
      if (forbidden.some((dir) => to === dir || to.startsWith(dir + "/"))) {
        bad.push({ from: file, to });
        continue;
      }
      const stat = await Deno.stat(to).catch(() => null);
      if (!stat) bad.push({ from: file, to: `${to} (missing)` });
      else if (stat.isFile && CODE.has(extname(to))) queue.push(to);
    }
  }
  return bad;
}

/** Every code file under `dir` (recursively) but tests, `node_modules` and build output. */
export async function codeFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = resolve(dir, e.name);
    if (e.isDirectory) {
      if (!["node_modules", "dist"].includes(e.name)) files.push(...await codeFiles(path));
    } else if (CODE.has(extname(e.name)) && !/_test\.[mt]?[jt]sx?$/.test(e.name)) {
      files.push(path);
    }
  }
  return files.sort();
}
