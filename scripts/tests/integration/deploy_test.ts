/**
 * `deno task deploy` end to end against the stack's Management API (scripts/stack/control_plane),
 * with the real Supabase CLI: link, config push, db push, functions deploy, secrets set, the Vault
 * secrets through `db query`, the publishable key from `projects api-keys` and the web build.
 * Then a job submitted through the public API runs on the functions just deployed, with the
 * provider settings just set by `secrets set` (TRANSCRIBE_PROVIDER=openai against a loopback
 * OpenAI fake that refuses any other key: the job completes only if the secrets reached the
 * functions).
 *
 * The stack's own secrets and `supabase/.temp` (written by `link`) are restored afterwards, so the
 * suites that follow, and a developer's own link, see what they saw before.
 */
import { join } from "node:path";
import { stackConfig } from "../../stack/config.ts";
import { controlPlaneAccess } from "../../stack/control_plane/access.ts";
import { ControlPlaneStore } from "../../stack/control_plane/store.ts";
import { functionNames } from "../../ship/function_imports.ts";
import { makeSpeech } from "../../ship/asr/fixtures.ts";
import { startOpenAiFake } from "../fakes/openai_fake.ts";
import { killFunction } from "../support/function_processes.ts";
import { adminSql, signedInClient, stackEnv } from "../support/stack_env.ts";
import { assert, submitWav, waitForJob } from "../support/submissions.ts";

const config = stackConfig();
const root = config.root;
const PROVIDER_KEY = "sk-deploy-test-PROVIDERKEY0123456789";

/** Files of a folder (not recursive into nothing): name → bytes, to put back afterwards. */
async function snapshot(dir: string): Promise<Map<string, Uint8Array> | null> {
  try {
    const files = new Map<string, Uint8Array>();
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile) files.set(e.name, await Deno.readFile(join(dir, e.name)));
    }
    return files;
  } catch {
    return null;
  }
}

async function restore(dir: string, files: Map<string, Uint8Array> | null) {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  if (!files) return;
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, bytes] of files) await Deno.writeFile(join(dir, name), bytes);
}

Deno.test("deno task deploy puts the project on the control plane and a job completes on it", async () => {
  const access = await controlPlaneAccess(config);
  const env = stackEnv();
  const store = new ControlPlaneStore(config.dir);
  const secretsBefore = await store.secrets();
  const liveBefore = await store.active();
  const linkDir = join(root, "supabase/.temp");
  const linkBefore = await snapshot(linkDir);
  const slugs = await functionNames(join(root, "supabase/functions"));
  const sql = adminSql();
  const openai = startOpenAiFake({ apiKey: PROVIDER_KEY });
  const site = await Deno.makeTempDir({ prefix: "deploy_site_" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "task",
        "deploy",
        "--project-ref",
        access.ref,
        "--profile",
        access.profile,
        "--project-url",
        env.SUPABASE_URL,
        "--db-url",
        env.SUPABASE_DB_URL,
        "--web-out",
        site,
      ],
      cwd: root,
      clearEnv: true,
      env: {
        PATH: `${join(root, "scripts/tools/node_modules/.bin")}:${Deno.env.get("PATH")}`,
        HOME: Deno.env.get("HOME") ?? "/root",
        ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
        STACK_DIR: config.dir,
        SUPABASE_ACCESS_TOKEN: access.accessToken,
        SUPABASE_SECRET_KEY: env.SUPABASE_SECRET_KEY,
        TRANSCRIBE_PROVIDER: "openai",
        OPENAI_BASE_URL: `${openai.url}/v1`,
        OPENAI_API_KEY: PROVIDER_KEY,
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const printed = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert(out.success, `deploy failed:\n${printed.slice(-4000)}`);
    for (const secret of [env.SUPABASE_SECRET_KEY, PROVIDER_KEY, access.accessToken]) {
      assert(!printed.includes(secret), "deploy printed a secret");
    }

    // functions deploy: every function has a new live version, uploaded with its import map.
    const live = await store.active();
    for (const slug of slugs) {
      assert(live[slug], `${slug} is not deployed`);
      assert(live[slug].version > (liveBefore[slug]?.version ?? 0), `${slug} was not redeployed`);
      assert(live[slug].import_map_path?.endsWith(`${slug}/deno.json`), `${slug}: no import map`);
    }
    // secrets set: the provider settings and the hosted switch reached the project's secrets.
    const secrets = await store.secrets();
    assert(secrets.TRANSCRIBE_PROVIDER === "openai" && secrets.OPENAI_API_KEY === PROVIDER_KEY);
    assert(secrets.AI_SUBS_HOSTED === "1");
    // config push: config.toml's auth settings are stored on the project.
    const auth = await store.settings("auth");
    assert(auth.external_anonymous_users_enabled === true, JSON.stringify(auth));
    // db query: the dispatcher's Vault secrets name this project's functions and secret key.
    const vault = await sql<{ name: string; decrypted_secret: string }[]>`
      select name, decrypted_secret from vault.decrypted_secrets
      where name in ('functions_url', 'secret_key')`;
    const byName = Object.fromEntries(vault.map((r) => [r.name, r.decrypted_secret]));
    assert(byName.functions_url === `${env.SUPABASE_URL}/functions/v1`, byName.functions_url);
    assert(byName.secret_key === env.SUPABASE_SECRET_KEY, "Vault secret_key");
    // The web build: one build, nothing baked in; beside it config.json names this project's URL
    // and the publishable key read from `api-keys`.
    let built = "";
    for await (const e of Deno.readDir(join(site, "assets"))) {
      if (e.name.endsWith(".js")) built += await Deno.readTextFile(join(site, "assets", e.name));
    }
    assert(built.length > 0, "no web build in --web-out");
    assert(!built.includes(env.SUPABASE_PUBLISHABLE_KEY), "a key is baked into the JavaScript");
    const appConfig = JSON.parse(await Deno.readTextFile(join(site, "config.json")));
    assert(
      appConfig.supabaseUrl === env.SUPABASE_URL &&
        appConfig.publishableKey === env.SUPABASE_PUBLISHABLE_KEY,
      `config.json: ${JSON.stringify(appConfig)}`,
    );

    // A job through the public API runs on what was just deployed, with the provider it set.
    // Speech (flite), as the steps place no cue over silence; the fake's words land on it.
    const speech = await Deno.makeTempFile({ suffix: ".wav" });
    await makeSpeech("The river was calm and the boats went by all afternoon.", speech);
    const { client, userId } = await signedInClient();
    const job = await submitWav(client, userId, await Deno.readFile(speech), { language: "en" });
    await Deno.remove(speech);
    const done = await waitForJob(client, job.id, 120_000);
    assert(done.status === "completed", `job ended ${done.status}: ${done.error_message}`);
    assert(
      openai.requests.some((r) => r.path === "/v1/audio/transcriptions"),
      "the deployed transcribe function did not call the provider set by secrets set",
    );
  } finally {
    await Deno.remove(site, { recursive: true }).catch(() => {});
    await store.setSecrets(secretsBefore);
    await restore(linkDir, linkBefore);
    await sql.end();
    await openai.close();
    // Processes started with the deploy's secrets start again with the stack's own.
    for (const slug of slugs) await killFunction(slug, "SIGTERM").catch(() => {});
  }
});
