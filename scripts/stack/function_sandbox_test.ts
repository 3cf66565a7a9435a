import assert from "node:assert/strict";
import { join } from "node:path";
import { repoRoot } from "./config.ts";
import { sandboxArgs, sourceBundle } from "./function_sandbox.ts";

const runtime = { denoDir: "/cache/deno", npmCache: "/cache/deno/npm" };
const functionsDir = join(repoRoot, "supabase/functions");

Deno.test("a function's bundle is its folder and _shared, with its own deno.json", async () => {
  const bundle = await sourceBundle(functionsDir, "prepare");
  assert.deepEqual(bundle, {
    dirs: [join(functionsDir, "prepare"), join(functionsDir, "_shared")],
    entrypoint: join(functionsDir, "prepare/index.ts"),
    importMap: join(functionsDir, "prepare/deno.json"),
  });
});

Deno.test("the sandbox grants network, env, the bundle, the npm cache and its own temp folder; nothing else", () => {
  const args = sandboxArgs(
    { dirs: ["/b/fn", "/b/_shared"], entrypoint: "/b/fn/index.ts", importMap: "/b/fn/deno.json" },
    runtime,
    ["/host.ts", "/b/fn/index.ts", "150"],
    ["--max-old-space-size=1024"],
    "/tmp/function-fn-x1",
  );
  assert.deepEqual(args, [
    "run",
    "--no-prompt",
    "--no-lock",
    "--config",
    "/b/fn/deno.json",
    "--allow-net",
    "--allow-env",
    "--allow-import",
    "--allow-sys=hostname",
    "--allow-read=/b/fn,/b/_shared,/cache/deno/npm,/tmp/function-fn-x1",
    "--allow-write=/tmp/function-fn-x1",
    "--deny-run",
    "--deny-ffi",
    "--v8-flags=--max-old-space-size=1024",
    "/host.ts",
    "/b/fn/index.ts",
    "150",
  ]);
  assert(!args.some((a) => a === "-A" || a.startsWith("--allow-all")), "allow-all");
});

Deno.test("the root deno.json never applies: a plain import map, or no map at all", () => {
  const bundle = { dirs: ["/b/fn"], entrypoint: "/b/fn/index.ts" };
  const plain = sandboxArgs({ ...bundle, importMap: "/b/fn/import_map.json" }, runtime, []);
  assert.deepEqual(plain.slice(3, 6), ["--no-config", "--import-map", "/b/fn/import_map.json"]);
  const none = sandboxArgs({ ...bundle, importMap: null }, runtime, []);
  assert.equal(none[3], "--no-config");
  assert.equal(none[4], "--allow-net");
});

Deno.test("a path with a comma cannot widen the sandbox", () => {
  assert.throws(
    () => sandboxArgs({ dirs: ["/b/fn,/"], entrypoint: "/x", importMap: null }, runtime, []),
    /comma/,
  );
});
