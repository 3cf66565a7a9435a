/**
 * Functions reach the stack only through the real CLI (`supabase functions deploy --use-api`
 * against the stack's Management API) and run from exactly what it uploaded: a function's
 * imports resolve through its own uploaded deno.json or not at all (never the repository's),
 * verify_jwt comes from the upload, and a new deployment replaces the running one.
 * Stack-only (needs the stack directory and its Management API).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { stackConfig } from "../../stack/config.ts";
import { runCliAgainstStack } from "../../stack/control_plane/access.ts";
import { apiKeys, stackEnv } from "../support/stack_env.ts";

const ZOD = JSON.parse(await Deno.readTextFile(new URL("../../../deno.json", import.meta.url)))
  .imports.zod as string;

/** A Supabase project folder with these functions (name → { file → text }). */
async function project(
  functions: Record<string, Record<string, string>>,
  config: string,
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "deploy_conformance_" });
  await Deno.mkdir(join(dir, "supabase"));
  await Deno.writeTextFile(join(dir, "supabase/config.toml"), `project_id = "t"\n${config}`);
  for (const [name, files] of Object.entries(functions)) {
    await Deno.mkdir(join(dir, "supabase/functions", name), { recursive: true });
    for (const [file, text] of Object.entries(files)) {
      await Deno.writeTextFile(join(dir, "supabase/functions", name, file), text);
    }
  }
  return dir;
}

async function deploy(dir: string, slugs: string[] = []) {
  await runCliAgainstStack(
    stackConfig(),
    ["functions", "deploy", ...slugs, "--use-api", "--workdir", dir],
    { cwd: dir },
  );
}

async function invoke(name: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${stackEnv().SUPABASE_URL}/functions/v1/${name}`, {
    method: "POST",
    headers: { apikey: apiKeys().publishable },
  });
  return { status: res.status, text: await res.text() };
}

const usesZod = (label: string) =>
  `import { z } from "zod";\nDeno.serve(() => new Response(z.string().parse(${
    JSON.stringify(label)
  })));\n`;

Deno.test("a function runs with its uploaded import map and nothing else", async () => {
  const dir = await project(
    {
      "deploy-mapped": {
        "index.ts": usesZod("mapped"),
        "deno.json": `{"imports":{"zod":"${ZOD}"}}`,
      },
      // Resolvable from the repository's root deno.json, but not from what the CLI uploads.
      "deploy-unmapped": { "index.ts": usesZod("unmapped") },
      "deploy-verified": { "index.ts": "Deno.serve(() => new Response('verified'));\n" },
    },
    "[functions.deploy-mapped]\nverify_jwt = false\n[functions.deploy-unmapped]\nverify_jwt = false\n",
  );
  try {
    await deploy(dir);
    assert.deepEqual(await invoke("deploy-mapped"), { status: 200, text: "mapped" });
    const unmapped = await invoke("deploy-unmapped");
    assert.equal(unmapped.status, 503, unmapped.text);
    assert.match(unmapped.text, /BOOT_ERROR/);
    // verify_jwt defaults to true in the upload's metadata: an API key alone is not a JWT.
    const verified = await invoke("deploy-verified");
    assert.equal(verified.status, 401, verified.text);

    // A new deployment replaces what runs, and fixes the function that could not boot.
    await Deno.writeTextFile(
      join(dir, "supabase/functions/deploy-mapped/index.ts"),
      usesZod("mapped v2"),
    );
    await Deno.writeTextFile(
      join(dir, "supabase/functions/deploy-unmapped/deno.json"),
      `{"imports":{"zod":"${ZOD}"}}`,
    );
    await deploy(dir, ["deploy-mapped", "deploy-unmapped"]);
    assert.deepEqual(await invoke("deploy-mapped"), { status: 200, text: "mapped v2" });
    assert.deepEqual(await invoke("deploy-unmapped"), { status: 200, text: "unmapped" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
