/**
 * `deno task test [stage...]` — every check the project has, in order: fmt, lint, types,
 * unit tests, then, against a fresh local stack of its own (.stack-test, ports 54331/54332),
 * pgTAP, the schema checks, the conformance suite, the pipeline integration tests and the
 * browser tests — all on the key model of a project created today (publishable/secret keys,
 * ES256 tokens). Then the `legacy` stage: a fresh stack with the legacy JWT keys switched on
 * (STACK_LEGACY_KEYS=1, as a project created earlier) runs the conformance, integration and
 * security suites again with clients on the legacy anon / service_role keys. Then the `upgrade`
 * stage: a fresh stack at the last release (STACK_MIGRATIONS=released) holding work in every
 * state is upgraded with `supabase db push` and a function redeploy (scripts/tests/upgrade).
 * Ends with one line "N passed, N failed" summing every runner.
 * Name stages to run only those, e.g. `deno task test unit pgtap` or `deno task test legacy`.
 */
import { capForOfflineEngine } from "./ship/asr/capacity.ts";
import { start, stop } from "./stack/cli.ts";
import { POSTGRES_PASSWORD } from "./stack/hosted_roles.ts";
import { stackConfig } from "./stack/config.ts";
import { readEnvFile } from "./lib/env_file.ts";
import { join } from "node:path";
import { dbUrl } from "./stack/postgres.ts";
import { buildWeb } from "./ship/web_build.ts";

const root = stackConfig().root;
const testEnv: Record<string, string> = {
  STACK_DIR: join(root, ".stack-test"),
  STACK_API_PORT: Deno.env.get("STACK_API_PORT") ?? "54331",
  STACK_DB_PORT: Deno.env.get("STACK_DB_PORT") ?? "54332",
  STACK_ASR_PORT: Deno.env.get("STACK_ASR_PORT") ?? "54339",
  // Test-only functions (scripts/tests/conformance/functions) and a short limit for the one that
  // proves a function is killed at its wall-clock limit.
  STACK_EXTRA_FUNCTIONS: join(root, "scripts/tests/conformance/functions"),
  STACK_FUNCTION_WALL_CLOCK_OVERRIDES: "conformance-wall-clock=2",
  // Every test signs in from 127.0.0.1: raise the per-IP limit of anonymous sign-ins as a
  // project's dashboard would (the security suite proves the limit from other addresses).
  STACK_AUTH_RATE_LIMIT_ANONYMOUS_USERS: "360000",
};
// The stack's daemon inherits this process's environment.
Deno.env.set(
  "STACK_AUTH_RATE_LIMIT_ANONYMOUS_USERS",
  testEnv.STACK_AUTH_RATE_LIMIT_ANONYMOUS_USERS,
);

/** The upgrade stage's tests: they need a stack at the last release (STACK_MIGRATIONS). */
const upgradeSuite = "scripts/tests/upgrade";

/** Folders of tests that need the running stack; every other *_test.ts is a unit test. */
const stackSuites = {
  db: "scripts/tests/db",
  conformance: "scripts/tests/conformance",
  integration: "scripts/tests/integration",
  e2e: "scripts/tests/e2e",
  security: "scripts/tests/security",
  badinput: "scripts/tests/badinput",
} as const;

let passed = 0;
let failed = 0;
const failures: string[] = [];

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(join(root, path)).then(() => true, () => false);
}

async function run(name: string, cmd: string[], env: Record<string, string> = {}) {
  console.log(`\n=== ${name}: ${cmd.join(" ")}`);
  const t0 = performance.now();
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: root,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const pump = async (stream: ReadableStream<Uint8Array>, sink: typeof Deno.stdout) => {
    for await (const chunk of stream) {
      output += new TextDecoder().decode(chunk);
      await sink.write(chunk);
    }
  };
  const [status] = await Promise.all([
    child.status,
    pump(child.stdout, Deno.stdout),
    pump(child.stderr, Deno.stderr),
  ]);
  const counted = countTests(output);
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  if (counted) {
    passed += counted.passed;
    failed += counted.failed;
  } else if (status.success) passed++;
  else failed++;
  if (!status.success) {
    failures.push(name);
    if (counted && counted.failed === 0) failed++;
  }
  console.log(`=== ${name}: ${status.success ? "ok" : "FAILED"} in ${seconds} s`);
}

/** Reads the closing counts of deno test ("ok | 3 passed | 0 failed") and pg_prove. */
function countTests(output: string): { passed: number; failed: number } | null {
  // deno-lint-ignore no-control-regex
  const plain = output.replace(/\x1b\[[0-9;]*m/g, "");
  const deno = [
    ...plain.matchAll(/^(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/gm),
  ];
  if (deno.length) {
    return deno.reduce(
      (acc, m) => ({ passed: acc.passed + Number(m[1]), failed: acc.failed + Number(m[2]) }),
      {
        passed: 0,
        failed: 0,
      },
    );
  }
  const prove = plain.match(/^Files=\d+, Tests=(\d+)/m);
  if (prove) {
    const bad = [...plain.matchAll(/Failed (\d+)\/\d+ subtests/g)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
    return { passed: Number(prove[1]) - bad, failed: bad };
  }
  return null;
}

async function unitTestFiles(): Promise<string[]> {
  const files: string[] = [];
  const skip = new Set([...Object.values(stackSuites), upgradeSuite].map((p) => join(root, p)));
  async function walk(dir: string) {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      if (e.isDirectory) {
        if (
          !skip.has(path) && !["node_modules", "dist", ".git"].includes(e.name) &&
          !e.name.startsWith(".stack")
        ) {
          await walk(path);
        }
      } else if (e.name.endsWith("_test.ts")) files.push(path.slice(root.length + 1));
    }
  }
  for (const top of ["scripts", "supabase/functions", "web/src"]) await walk(join(root, top));
  return files.sort();
}

/** What the legacy stage runs again (each file of these folders but `legacySkip`). */
const legacySuites = ["conformance", "integration", "security"] as const;
/**
 * Left out of the legacy stage to keep its added time near 2 minutes: the chunked pipeline goes
 * through the same keys as pipeline_test (dispatch, step auth, Storage) for another 90 s.
 */
const legacySkip = new Set(["scripts/tests/integration/chunked_pipeline_test.ts"]);

const all = ["static", "unit", "pgtap", ...Object.keys(stackSuites), "legacy", "upgrade"];
const wanted = new Set(Deno.args.length ? Deno.args : all);
const deno = Deno.execPath();

if (wanted.has("static")) {
  await run("fmt", [deno, "fmt", "--check"]);
  await run("lint", [deno, "lint"]);
  await run("types", [deno, "check", "scripts", "supabase/functions", "web/src"]);
}
if (wanted.has("unit")) {
  const files = await unitTestFiles();
  if (files.length) await run("unit tests", [deno, "test", "-A", "--parallel", ...files]);
}

async function suiteFiles(dir: string): Promise<string[]> {
  if (!(await exists(dir))) return [];
  return [...Deno.readDirSync(join(root, dir))].filter((e) => e.name.endsWith("_test.ts"))
    .map((e) => join(dir, e.name)).sort();
}

/** A fresh test stack for `fn`, stopped afterwards (`extra` env: e.g. the legacy switch). */
async function withFreshStack(
  extra: Record<string, string>,
  fn: (config: ReturnType<typeof stackConfig>, env: Record<string, string>) => Promise<void>,
) {
  const env = { ...testEnv, ...extra };
  const config = stackConfig({ ...Deno.env.toObject(), ...env });
  console.log(
    `\n=== stack: fresh test stack in ${config.dir}${
      extra.STACK_LEGACY_KEYS ? " (legacy keys on)" : ""
    }`,
  );
  await stop(config).catch(() => {});
  await Deno.remove(config.dir, { recursive: true }).catch(() => {});
  try {
    await start(config);
    // The offline engine takes one chunk at a time (scripts/ship/asr/capacity.ts); the suites run
    // with the cap in place, as on a used dev database.
    await capForOfflineEngine(
      dbUrl(config),
      readEnvFile(join(root, "supabase/functions/.env")) ?? {},
    );
    await fn(config, env);
  } finally {
    await stop(config).catch((e) => console.error(`stopping the test stack: ${e}`));
  }
}

const needsStack = [...wanted].some((s) => s === "pgtap" || s in stackSuites);
if (needsStack) {
  await withFreshStack({}, async (config, env) => {
    if (wanted.has("pgtap") && (await exists("supabase/tests/database"))) {
      const tests = [...Deno.readDirSync(join(root, "supabase/tests/database"))]
        .filter((e) => e.name.endsWith(".test.sql")).map((e) =>
          join("supabase/tests/database", e.name)
        ).sort();
      if (tests.length) {
        // As the project's postgres role (SUPABASE_DB_URL's), which is not a superuser.
        await run("pgTAP", [
          "pg_prove",
          "-h",
          "127.0.0.1",
          "-p",
          String(config.dbPort),
          "-U",
          "postgres",
          "-d",
          "postgres",
          ...tests,
        ], { PGPASSWORD: POSTGRES_PASSWORD });
      }
    }
    for (const [stage, dir] of Object.entries(stackSuites)) {
      if (!wanted.has(stage)) continue;
      const files = await suiteFiles(dir);
      // The browser tests need web/dist (one build for every stack: each serves its own
      // config.json, so a running `deno task dev` keeps working).
      if (files.length && stage === "e2e") await buildWeb(root);
      if (files.length) await run(`${stage} tests`, [deno, "test", "-A", ...files], env);
    }
  });
}

if (wanted.has("legacy")) {
  // A project created earlier: legacy JWT keys on, clients using them (scripts/tests/support).
  await withFreshStack(
    { STACK_DIR: join(root, ".stack-test-legacy"), STACK_LEGACY_KEYS: "1" },
    async (_config, env) => {
      const files = (await Promise.all(legacySuites.map((s) => suiteFiles(stackSuites[s])))).flat()
        .filter((f) => !legacySkip.has(f));
      if (files.length) {
        await run("legacy keys: " + legacySuites.join(", "), [deno, "test", "-A", ...files], env);
      }
    },
  );
}

if (wanted.has("upgrade")) {
  // A project at the last release (only released.json's migrations) upgraded to this tree.
  await withFreshStack(
    { STACK_DIR: join(root, ".stack-test-upgrade"), STACK_MIGRATIONS: "released" },
    async (_config, env) => {
      const files = await suiteFiles(upgradeSuite);
      if (files.length) await run("upgrade", [deno, "test", "-A", ...files], env);
    },
  );
}

console.log(
  `\n${
    failures.length ? `failed stages: ${failures.join(", ")}\n` : ""
  }${passed} passed, ${failed} failed`,
);
Deno.exit(failures.length ? 1 : 0);
