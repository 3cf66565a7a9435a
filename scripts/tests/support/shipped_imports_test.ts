/**
 * What ships never imports what only emulates or tests it: the CLI, the offline engine and
 * deploy (scripts/ship), the Edge Functions and the web app reach nothing under scripts/stack,
 * scripts/tests or scripts/bench. Neutral code both sides need lives in scripts/lib.
 */
import { join } from "node:path";
import { repoRoot } from "../../lib/repo.ts";
import { codeFiles, forbiddenEdges, relativeSpecifiers } from "./import_graph.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

const FORBIDDEN = ["scripts/stack", "scripts/tests", "scripts/bench"].map((p) => join(repoRoot, p));

Deno.test("nothing that ships reaches the emulator, the test suites or the bench", async () => {
  const entries = [
    ...await codeFiles(join(repoRoot, "scripts/ship")),
    ...await codeFiles(join(repoRoot, "supabase/functions")),
    ...await codeFiles(join(repoRoot, "web/src")),
  ];
  assert(entries.length > 50, `only ${entries.length} shipped files found`);
  const bad = await forbiddenEdges(entries, FORBIDDEN);
  const shown = bad.map((e) => `${e.from.slice(repoRoot.length + 1)} → ${e.to}`);
  assert(bad.length === 0, `shipped code reaches what it must not:\n${shown.join("\n")}`);
});

Deno.test("the walk finds imports of every form, through files in between", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "ship/sub"), { recursive: true });
    await Deno.mkdir(join(dir, "stack"));
    await Deno.writeTextFile(join(dir, "stack/config.ts"), "export const x = 1;\n");
    await Deno.writeTextFile(join(dir, "stack/worker.ts"), "");
    await Deno.writeTextFile(
      join(dir, "ship/main.ts"),
      'import { z } from "zod";\nimport {\n  a,\n  type B,\n} from "./sub/middle.ts";\n',
    );
    await Deno.writeTextFile(
      join(dir, "ship/sub/middle.ts"),
      'export * from "../../stack/config.ts";\n' +
        'const w = new Worker(new URL("../../stack/worker.ts", import.meta.url));\n' +
        'await import("../gone.ts");\n',
    );
    const bad = await forbiddenEdges([join(dir, "ship/main.ts")], [join(dir, "stack")]);
    const seen = bad.map((e) => e.to.slice(dir.length + 1)).sort();
    assert(
      JSON.stringify(seen) ===
        JSON.stringify(["ship/gone.ts (missing)", "stack/config.ts", "stack/worker.ts"]),
      `found ${JSON.stringify(seen)}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("specifiers: relative only, side-effect and dynamic imports included", () => {
  const specs = relativeSpecifiers(
    'import "./side.ts";\nimport x from "npm:zod";\nexport { y } from "../y.ts";\n' +
      'const m = await import( "./lazy.ts" );\nimport type { T } from "jsr:@std/path";\n',
  );
  assert(
    JSON.stringify(specs) === JSON.stringify(["./side.ts", "../y.ts", "./lazy.ts"]),
    `got ${JSON.stringify(specs)}`,
  );
});
