/**
 * What `supabase functions deploy` uploads for a function must resolve on its own: the function
 * folder's deno.json is the only import map it carries (scripts/ship/function_imports.ts).
 */
import { join } from "node:path";
import { functionNames, functionsDir, importMapFor, pinnedImports } from "./function_imports.ts";

async function checkWithOwnMap(entrypoint: string, config: string) {
  return await new Deno.Command(Deno.execPath(), {
    args: ["check", "--no-lock", "--config", config, entrypoint],
    stdout: "piped",
    stderr: "piped",
  }).output();
}

Deno.test("every function's deno.json maps exactly its packages at the root's pinned versions", async () => {
  const pins = await pinnedImports();
  const names = await functionNames();
  if (names.length < 10) throw new Error(`only ${names.length} functions found`);
  for (const name of names) {
    const current = await Deno.readTextFile(join(functionsDir, name, "deno.json")).catch(() =>
      "missing"
    );
    if (current !== await importMapFor(name, pins)) {
      throw new Error(
        `supabase/functions/${name}/deno.json is out of step with the root deno.json: ` +
          `run deno task functions:imports`,
      );
    }
  }
});

Deno.test("every function resolves and type-checks with only its own deno.json", async () => {
  const names = await functionNames();
  const results = await Promise.all(names.map(async (name) => {
    const dir = join(functionsDir, name);
    const out = await checkWithOwnMap(join(dir, "index.ts"), join(dir, "deno.json"));
    return { name, out };
  }));
  const failed = results.filter((r) => !r.out.success);
  if (failed.length) {
    throw new Error(
      failed.map((r) => `${r.name}: ${new TextDecoder().decode(r.out.stderr)}`).join("\n"),
    );
  }
});

Deno.test("a function importing a package its own map lacks does not resolve", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      join(dir, "index.ts"),
      `import { z } from "zod";\nDeno.serve(() => new Response(String(z.string().parse("ok"))));\n`,
    );
    await Deno.writeTextFile(join(dir, "deno.json"), `{ "imports": {} }\n`);
    const out = await checkWithOwnMap(join(dir, "index.ts"), join(dir, "deno.json"));
    if (out.success) throw new Error("a bare import with no map entry type-checked");
    if (!new TextDecoder().decode(out.stderr).includes("zod")) {
      throw new Error(`unexpected error: ${new TextDecoder().decode(out.stderr)}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
