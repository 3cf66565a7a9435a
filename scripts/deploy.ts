/**
 * `deno task deploy --project-ref <ref> --db-url <postgres url>` — puts this repository on a
 * hosted Supabase project with the real CLI: link, push the migrations, set the functions'
 * secrets from supabase/functions/.env, deploy every function, and store in Vault where the
 * functions are and the secret key the dispatcher calls them with. Needs `supabase login`
 * (or SUPABASE_ACCESS_TOKEN) and SUPABASE_SECRET_KEY (sb_secret_…) of that project in the env.
 * This machine cannot reach supabase.com, so it has not been run from here.
 */
import { parseArgs } from "node:util";
import { repoRoot, stackConfig } from "./stack/config.ts";
import { ensureSupabaseCliEnv } from "./stack/keys.ts";
import { join } from "./stack/paths.ts";
import { upsertVaultSecretSql, VAULT_SECRET_KEY } from "./stack/vault_secrets.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { "project-ref": { type: "string" }, "db-url": { type: "string" } },
});
const ref = values["project-ref"];
const dbUrl = values["db-url"];
const serviceKey = Deno.env.get("SUPABASE_SECRET_KEY");
if (!ref || !dbUrl || !serviceKey) {
  console.error(
    "usage: SUPABASE_SECRET_KEY=sb_secret_... deno task deploy --project-ref <ref> --db-url <url>",
  );
  Deno.exit(2);
}

const cli = join(repoRoot, "scripts/tools/node_modules/.bin/supabase");
// The CLI refuses to run while config.toml's signing_keys_path names a missing file (local-only).
const cliEnv = await ensureSupabaseCliEnv(stackConfig());

async function run(cmd: string, args: string[]) {
  console.log(`$ ${cmd.split("/").pop()} ${args.join(" ").replace(serviceKey!, "***")}`);
  const out = await new Deno.Command(cmd, {
    args,
    cwd: repoRoot,
    env: cliEnv,
    stdout: "inherit",
    stderr: "inherit",
  })
    .output();
  if (!out.success) throw new Error(`${args.slice(0, 2).join(" ")} failed`);
}

await run(cli, ["link", "--project-ref", ref]);
await run(cli, ["db", "push", "--db-url", dbUrl, "--yes"]);
const dotEnv = join(repoRoot, "supabase/functions/.env");
if (await Deno.stat(dotEnv).then(() => true, () => false)) {
  await run(cli, ["secrets", "set", "--env-file", dotEnv, "--project-ref", ref]);
}
await run(cli, ["functions", "deploy", "--project-ref", ref]);
const functionsUrl = `https://${ref}.supabase.co/functions/v1`;
await run("psql", [
  dbUrl,
  "-v",
  "ON_ERROR_STOP=1",
  "-c",
  upsertVaultSecretSql("functions_url", functionsUrl),
  "-c",
  upsertVaultSecretSql(VAULT_SECRET_KEY, serviceKey),
]);
console.log(`deployed to ${functionsUrl}`);
