/**
 * `deno task deploy --project-ref <ref> [--dry-run] [--profile <file>] [--project-url <url>]
 * [--db-url <url>]` — puts this repository on a hosted Supabase project with the real Supabase
 * CLI (`supabase` on PATH, else the pinned one in scripts/tools), in this order:
 *
 *  1. `link` the project;
 *  2. `config push`: supabase/config.toml (auth with anonymous sign-ins, storage's object limit,
 *     the functions' `verify_jwt`);
 *  3. `db push`: the migrations;
 *  4. `functions deploy --use-api` (bundled by the platform: no Docker needed here);
 *  5. `secrets set`: the provider settings, from the environment or supabase/functions/.env,
 *     through a temporary env file (never on a command line);
 *  6. `db query`: the Vault secrets the dispatcher reads (`functions_url`, `secret_key`) and
 *     config.toml's object limit on the media bucket, through a temporary SQL file;
 *  7. the web app (the one build, web/build_web.ts) into `web/dist-<ref>` (or --web-out) with
 *     the project's `config.json` beside index.html (its URL and publishable key, read at run
 *     time), then how to host it, and the config.json to put beside a build hosted elsewhere.
 *
 * Needs `supabase login` (or SUPABASE_ACCESS_TOKEN), SUPABASE_SECRET_KEY (the project's
 * `sb_secret_…` key, for the dispatcher) and a transcription provider: hosted functions cannot
 * reach the offline engine, so without TRANSCRIBE_PROVIDER=openai|gemini and its key the
 * script refuses and names what to set. SUPABASE_PUBLISHABLE_KEY is read from the project
 * (`projects api-keys`) unless set. SUPABASE_DB_PASSWORD, when set, is passed on to the CLI
 * in its environment. `--dry-run` prints every step, one per line, and runs none.
 * Secrets are never printed: they travel in files only the CLI reads. Every CLI call runs with
 * DO_NOT_TRACK=1 and SUPABASE_TELEMETRY_DISABLED=1.
 *
 * Another Management API (the local stack's, scripts/stack/control_plane): `--profile <file>`
 * is handed to every CLI call (the CLI's profile YAML: name, api_url, dashboard_url,
 * project_host); `--project-url` replaces `https://<ref>.supabase.co` for the dispatcher's
 * Vault secret and the web build; `--db-url` makes `db push` dial that database instead of
 * `db.<ref>.<project_host>`.
 */
import { parseArgs } from "node:util";
import { isAbsolute } from "node:path";
import { parse as parseToml } from "smol-toml";
import { localStackDir, repoRoot } from "../lib/repo.ts";
import { readEnvFile } from "../lib/env_file.ts";
import { ensureSupabaseCliEnv, supabaseCliPath } from "../lib/supabase_cli.ts";
import { join } from "node:path";
import {
  upsertVaultSecretSql,
  VAULT_FUNCTIONS_URL,
  VAULT_SECRET_KEY,
} from "../lib/vault_secrets.ts";

/** Provider settings the functions need on a hosted project (supabase/functions/_shared/providers/config.ts). */
const PROVIDER_VARS = [
  "TRANSCRIBE_PROVIDER",
  "TEXT_PROVIDER",
  "GEMINI_API_KEY",
  "GEMINI_BASE_URL",
  "GEMINI_MODEL",
  "OPENAI_API_KEY",
  "OPENAI_BASE_URL",
  "OPENAI_TRANSCRIBE_MODEL",
  "OPENAI_CHAT_MODEL",
  "OFFLINE_ASR_URL",
  "PROVIDER_TIMEOUT_MS",
];

const { values } = parseArgs({
  args: Deno.args,
  options: {
    "project-ref": { type: "string" },
    "dry-run": { type: "boolean", default: false },
    "web-out": { type: "string" },
    profile: { type: "string" },
    "project-url": { type: "string" },
    "db-url": { type: "string" },
  },
});
const ref = values["project-ref"];
const dryRun = values["dry-run"];
if (!ref || !/^[a-z0-9]{20}$/.test(ref)) {
  console.error(
    "usage: deno task deploy --project-ref <20-letter project ref> [--web-out DIR] [--dry-run] " +
      "[--profile <file>] [--project-url <url>] [--db-url <url>]",
  );
  Deno.exit(2);
}

// The provider settings: the environment wins over supabase/functions/.env.
const dotEnv = readEnvFile(join(repoRoot, "supabase/functions/.env")) ?? {};
const providers: Record<string, string> = {};
for (const name of PROVIDER_VARS) {
  const value = Deno.env.get(name)?.trim() || dotEnv[name]?.trim();
  if (value) providers[name] = value;
}

/** Why this provider configuration cannot transcribe on a hosted project, or null. */
function providerProblem(p: Record<string, string>): string | null {
  const engine = p.TRANSCRIBE_PROVIDER ?? "offline";
  if (engine === "openai") {
    return p.OPENAI_API_KEY || p.OPENAI_BASE_URL
      ? null
      : "TRANSCRIBE_PROVIDER=openai needs OPENAI_API_KEY (or OPENAI_BASE_URL for a server without keys)";
  }
  if (engine === "gemini") {
    return p.GEMINI_API_KEY ? null : "TRANSCRIBE_PROVIDER=gemini needs GEMINI_API_KEY";
  }
  if (engine === "offline") {
    const url = p.OFFLINE_ASR_URL;
    const remote = url && !/^https?:\/\/(localhost|127\.|\[::1\])/i.test(url);
    return remote ? null : "hosted functions cannot reach the offline engine (it runs on this " +
      "machine). Set TRANSCRIBE_PROVIDER=openai with OPENAI_API_KEY (or OPENAI_BASE_URL), or " +
      "TRANSCRIBE_PROVIDER=gemini with GEMINI_API_KEY, in the environment or " +
      "supabase/functions/.env";
  }
  return `TRANSCRIBE_PROVIDER=${engine} is not one of openai, gemini`;
}

const problem = providerProblem(providers);
if (problem) {
  console.error(`deploy refused: ${problem}.`);
  Deno.exit(1);
}
const secretKey = Deno.env.get("SUPABASE_SECRET_KEY")?.trim();
if (!secretKey && !dryRun) {
  console.error(
    "deploy refused: set SUPABASE_SECRET_KEY to the project's secret API key (sb_secret_…, " +
      "Project Settings → API Keys); the dispatcher calls the functions with it.",
  );
  Deno.exit(1);
}

/** config.toml's `[storage] file_size_limit` in bytes: the plan's object limit. */
function objectLimitBytes(): number {
  const config = parseToml(Deno.readTextFileSync(join(repoRoot, "supabase/config.toml"))) as {
    storage?: { file_size_limit?: string | number };
  };
  const value = config.storage?.file_size_limit ?? "50MiB";
  if (typeof value === "number") return value;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?\s*$/i.exec(value);
  if (!m) throw new Error(`config.toml: cannot read file_size_limit ${value}`);
  const unit = (m[2] ?? "B").toUpperCase();
  const scale: Record<string, number> = {
    B: 1,
    KB: 1e3,
    MB: 1e6,
    GB: 1e9,
    KIB: 2 ** 10,
    MIB: 2 ** 20,
    GIB: 2 ** 30,
  };
  return Math.round(Number(m[1]) * scale[unit]);
}

const cli = await supabaseCliPath(repoRoot);
// The CLI refuses to run while config.toml's signing_keys_path names a missing file (it is
// local-only and git-ignored): point it at the stack's own key file instead.
const cliEnv = dryRun ? {} : await ensureSupabaseCliEnv({ root: repoRoot, dir: localStackDir() });
const temp = dryRun ? null : await Deno.makeTempDir({ prefix: "deploy_" });
const projectUrl = (values["project-url"] ?? `https://${ref}.supabase.co`).replace(/\/+$/, "");
const functionsUrl = `${projectUrl}/functions/v1`;
/** Flags every CLI call gets: the Management API to talk to, when not the default one. */
const profileArgs = values.profile ? ["--profile", values.profile] : [];
/** Where `db push` finds the database: the URL given, else the linked project's host. */
const dbTarget = [`--remote=${values["db-url"] ?? ref}`];

/** Runs (or, with --dry-run, prints) one command; `shown` is what is printed instead of secrets. */
async function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; capture?: boolean } = {},
): Promise<string> {
  const where = options.cwd && options.cwd !== repoRoot ? `(cd ${options.cwd} && ` : "";
  // A database URL's password is never printed.
  const argsShown = args.map((a) => a.replace(/(:\/\/[^:/@\s]+:)[^@\s]+@/, "$1***@"));
  console.log(`${where}${cmd.split("/").pop()} ${argsShown.join(" ")}${where ? ")" : ""}`);
  if (dryRun) return "";
  const out = await new Deno.Command(cmd, {
    args,
    cwd: options.cwd ?? repoRoot,
    env: cmd === cli ? { ...cliEnv, ...options.env } : options.env,
    stdout: options.capture ? "piped" : "inherit",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`${cmd.split("/").pop()} ${args.slice(0, 2).join(" ")} failed`);
  return options.capture ? new TextDecoder().decode(out.stdout) : "";
}

/** A file only this user can read, for values that must not appear on a command line. */
async function privateFile(name: string, text: string): Promise<string> {
  if (!temp) return `<${name}>`;
  const path = join(temp, name);
  await Deno.writeTextFile(path, text, { mode: 0o600 });
  return path;
}

/** The first `sb_publishable_…` string anywhere in `projects api-keys --output json`. */
function findPublishable(value: unknown): string | null {
  if (typeof value === "string") return value.startsWith("sb_publishable_") ? value : null;
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) {
      const found = findPublishable(v);
      if (found) return found;
    }
  }
  return null;
}

try {
  await run(cli, ["link", "--project-ref", ref, ...profileArgs]);
  await run(cli, ["config", "push", `--remote=${ref}`, "--yes", ...profileArgs]);
  await run(cli, ["db", "push", ...dbTarget, "--yes", ...profileArgs]);
  await run(cli, ["functions", "deploy", `--remote=${ref}`, "--use-api", "--yes", ...profileArgs]);
  const secrets = { ...providers, AI_SUBS_HOSTED: "1" };
  const envFile = await privateFile(
    "functions.env",
    Object.entries(secrets).map(([k, v]) => `${k}=${v}\n`).join(""),
  );
  await run(cli, [
    "secrets",
    "set",
    "--env-file",
    envFile,
    `--remote=${ref}`,
    "--yes",
    ...profileArgs,
  ]);
  const sqlFile = await privateFile(
    "vault.sql",
    [
      upsertVaultSecretSql(VAULT_FUNCTIONS_URL, functionsUrl),
      upsertVaultSecretSql(VAULT_SECRET_KEY, secretKey ?? ""),
      `update storage.buckets set file_size_limit = ${objectLimitBytes()} where id = 'media';`,
    ].join("\n"),
  );
  await run(cli, ["db", "query", `--remote=${ref}`, "--file", sqlFile, "--yes", ...profileArgs]);

  let publishable = Deno.env.get("SUPABASE_PUBLISHABLE_KEY")?.trim();
  if (!publishable) {
    const listed = await run(
      cli,
      ["projects", "api-keys", `--remote=${ref}`, "--output", "json", ...profileArgs],
      { capture: true },
    );
    publishable = dryRun ? "<publishable key>" : findPublishable(JSON.parse(listed)) ?? undefined;
    if (!publishable) throw new Error("the project has no publishable key (sb_publishable_…)");
  }
  // The one web build, into its own folder (web/dist stays the local stacks'), and beside its
  // index.html the project's config.json: the app reads it at run time (web/src/app_config.ts).
  const web = join(repoRoot, "web");
  const site = values["web-out"]
    ? (isAbsolute(values["web-out"]) ? values["web-out"] : join(Deno.cwd(), values["web-out"]))
    : join(web, `dist-${ref}`);
  const shown = site.startsWith(repoRoot + "/") ? site.slice(repoRoot.length + 1) : site;
  const appConfig = JSON.stringify({ supabaseUrl: projectUrl, publishableKey: publishable });
  await run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: web });
  await run("npm", ["run", "build", "--", "--outDir", site, "--emptyOutDir"], { cwd: web });
  console.log(`write ${join(shown, "config.json")}: ${appConfig}`);
  if (!dryRun) {
    await Deno.mkdir(site, { recursive: true });
    await Deno.writeTextFile(join(site, "config.json"), appConfig + "\n");
    console.log(`
Deployed: API ${projectUrl}, functions ${functionsUrl}.
The web app is in ${shown}: the build and its config.json for this project. Supabase does
not serve HTML, so put the folder on any static host, in any folder, with no rewrite rules
(every route, share links included, is index.html itself): for example
  npx wrangler pages deploy ${shown}        # Cloudflare Pages
  npx netlify-cli deploy --dir ${shown} --prod
  or copy it to GitHub Pages, S3 + CloudFront, nginx...
A build already on a static host (any project's: nothing is baked in) needs only this
config.json beside its index.html:
  ${appConfig}
Then add the site's address to Authentication → URL Configuration (site_url) if you use
redirects.`);
  }
} finally {
  if (temp) await Deno.remove(temp, { recursive: true });
}
