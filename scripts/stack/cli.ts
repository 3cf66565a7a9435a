/**
 * `deno task stack start|stop|status|reset` — the Docker-free local Supabase.
 * `start` returns once everything answers, leaving the stack running in the background, and
 * writes `.stack/env`; `stop` ends exactly what `start` started.
 */
import { type StackConfig, stackConfig } from "./config.ts";
import { type KeyRing, loadKeyRing } from "./keys.ts";
import { join } from "node:path";
import {
  upsertVaultSecretSql,
  VAULT_FUNCTIONS_URL,
  VAULT_SECRET_KEY,
} from "../lib/vault_secrets.ts";
import {
  dbUrl,
  installExtensions,
  isPostgresRunning,
  prepareCluster,
  psql,
  pushMigrations,
  stopPostgres,
} from "./postgres.ts";

const daemonPidFile = (c: StackConfig) => join(c.dir, "run", "daemon.pid");

async function ensurePackages(config: StackConfig) {
  const wanted = (await Deno.readTextFile(join(config.root, "scripts/packages.txt")))
    .split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  const out = await new Deno.Command("dpkg-query", {
    args: ["-W", "-f=${Package} ${Status}\n", ...wanted],
    stdout: "piped",
    stderr: "null",
  }).output();
  const installed = new Set(
    new TextDecoder().decode(out.stdout).split("\n").filter((l) =>
      l.endsWith("install ok installed")
    )
      .map((l) => l.split(" ")[0]),
  );
  const missing = wanted.filter((p) => !installed.has(p));
  if (missing.length === 0) return;
  if (Deno.uid() !== 0) {
    throw new Error(
      `missing Debian packages: ${missing.join(" ")}\nrun as root: apt-get install ${
        missing.join(" ")
      }`,
    );
  }
  console.error(`stack: installing ${missing.join(" ")}`);
  for (
    const args of [["update", "-qq"], [
      "install",
      "-y",
      "-qq",
      "--no-install-recommends",
      ...missing,
    ]]
  ) {
    const r = await new Deno.Command("apt-get", {
      args,
      env: { DEBIAN_FRONTEND: "noninteractive" },
    }).output();
    if (!r.success) throw new Error(`apt-get ${args.join(" ")} failed`);
  }
}

async function readPid(config: StackConfig): Promise<number | null> {
  try {
    const pid = Number((await Deno.readTextFile(daemonPidFile(config))).trim());
    return Number.isInteger(pid) && pid > 0 && processAlive(pid) ? pid : null;
  } catch {
    return null;
  }
}

function processAlive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

/** Whether the stack of `config` answers on its gateway's /health. */
export async function healthy(config: StackConfig): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${config.apiPort}/health`, {
      signal: AbortSignal.timeout(1000),
    });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * `.stack/env` and the start-up printout: the URL, the publishable key (browsers, CLIs), the
 * secret key (servers, never a browser) and the database URL; the legacy JWT keys and secret
 * only with the legacy switch on.
 */
export function envBlock(config: StackConfig, ring: Pick<KeyRing, "keys" | "legacy">) {
  const { keys } = ring;
  return [
    `SUPABASE_URL=http://127.0.0.1:${config.apiPort}`,
    `SUPABASE_PUBLISHABLE_KEY=${keys.publishableKey}`,
    `SUPABASE_SECRET_KEY=${keys.secretKey}`,
    `SUPABASE_DB_URL=${dbUrl(config)}`,
    ...(ring.legacy
      ? [
        `SUPABASE_ANON_KEY=${keys.anonKey}`,
        `SUPABASE_SERVICE_ROLE_KEY=${keys.serviceRoleKey}`,
        `SUPABASE_JWT_SECRET=${keys.jwtSecret}`,
      ]
      : []),
  ].join("\n") + "\n";
}

/**
 * Tells the database where the functions are and with which key to call them (Vault
 * `functions_url` and `secret_key`, the secret key the dispatcher sends as `apikey`).
 */
async function configureVault(config: StackConfig, secretKey: string) {
  const secrets: Record<string, string> = {
    [VAULT_FUNCTIONS_URL]: `http://127.0.0.1:${config.apiPort}/functions/v1`,
    [VAULT_SECRET_KEY]: secretKey,
  };
  const statements = Object.entries(secrets).map(([name, value]) =>
    upsertVaultSecretSql(name, value)
  );
  // As postgres, as `deno task deploy` does on a hosted project (`supabase db query`).
  await psql(config, [
    "-c",
    "create extension if not exists supabase_vault;",
    ...statements.flatMap((s) => ["-c", s]),
  ], "postgres");
}

export async function start(config = stackConfig()): Promise<void> {
  const t0 = performance.now();
  await ensurePackages(config);
  await Deno.mkdir(config.dir, { recursive: true });
  const keys = await loadKeyRing(config);
  await installExtensions(config);
  await prepareCluster(config);
  // Every start: an existing stack takes the migrations added since (no reset needed).
  const { applied } = await pushMigrations(config);
  if (applied.length) console.error(`stack: applied migrations ${applied.join(", ")}`);
  await configureVault(config, keys.keys.secretKey);

  if (!(await readPid(config))) {
    const log = join(config.dir, "logs", "daemon.log");
    const deno = Deno.execPath();
    const daemon = join(config.root, "scripts/stack/daemon.ts");
    // setsid: the daemon leads its own process group, so `stop` can end it and its children.
    const child = new Deno.Command("setsid", {
      args: ["sh", "-c", `exec "$0" run -A "$1" >>"$2" 2>&1`, deno, daemon, log],
      env: {
        STACK_DIR: config.dir,
        STACK_API_PORT: String(config.apiPort),
        STACK_DB_PORT: String(config.dbPort),
        STACK_ASR_PORT: String(config.asrPort),
        STACK_FUNCTION_WALL_CLOCK_S: String(config.functionWallClockSeconds),
        STACK_FUNCTION_WALL_CLOCK_OVERRIDES: Object.entries(config.functionWallClockOverrides)
          .map(([k, v]) => `${k}=${v}`).join(","),
        STACK_EXTRA_FUNCTIONS: config.extraFunctionDirs.join(":"),
        STACK_LEGACY_KEYS: config.legacyKeys ? "1" : "0",
      },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    child.unref();
    await Deno.writeTextFile(daemonPidFile(config), String(child.pid));
  }
  const deadline = Date.now() + 30_000;
  while (!(await healthy(config))) {
    if (Date.now() > deadline || !(await readPid(config))) {
      const tail = await Deno.readTextFile(join(config.dir, "logs", "daemon.log")).catch(() => "");
      throw new Error(`stack did not become healthy; daemon log:\n${tail.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const env = envBlock(config, keys);
  await Deno.writeTextFile(join(config.dir, "env"), env);
  console.log(env.trimEnd());
  console.error(
    `stack: ${keys.legacy ? "legacy JWT keys ON (STACK_LEGACY_KEYS=1)" : "new API keys only"};` +
      ` signing key ${keys.signingKeysPath}`,
  );
  console.error(`stack: healthy in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

export async function stop(config = stackConfig()): Promise<void> {
  const pid = await readPid(config);
  if (pid) {
    try {
      Deno.kill(-pid, "SIGTERM");
    } catch { /* already gone */ }
    for (let i = 0; i < 50 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    try {
      Deno.kill(-pid, "SIGKILL");
    } catch { /* ended */ }
  }
  await Deno.remove(daemonPidFile(config)).catch(() => {});
  await stopPostgres(config);
}

async function status(config = stackConfig()): Promise<boolean> {
  const pg = await isPostgresRunning(config);
  const pid = await readPid(config);
  const ok = await healthy(config);
  console.log(`postgres: ${pg ? "running" : "stopped"} (port ${config.dbPort})`);
  console.log(
    `gateway:  ${pid ? `pid ${pid}` : "stopped"}, ${
      ok ? "healthy" : "not answering"
    } (port ${config.apiPort})`,
  );
  return pg && ok;
}

if (import.meta.main) {
  const command = Deno.args[0] ?? "status";
  const config = stackConfig();
  try {
    switch (command) {
      case "start":
        await start(config);
        break;
      case "stop":
        await stop(config);
        break;
      case "status":
        Deno.exit((await status(config)) ? 0 : 1);
        break;
      case "reset":
        await stop(config);
        await Deno.remove(config.dir, { recursive: true }).catch(() => {});
        await start(config);
        break;
      default:
        console.error("usage: deno task stack start|stop|status|reset");
        Deno.exit(2);
    }
  } catch (e) {
    console.error(`stack ${command}: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
