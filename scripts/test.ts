/**
 * `deno task test [stage...]` — every check the project has, in order: fmt, lint, types,
 * unit tests, then, against a fresh local stack of its own (.stack-test, ports 54331/54332),
 * pgTAP, the schema checks, the conformance suite, the pipeline integration tests and the
 * browser tests. Ends with one line "N passed, N failed" summing every runner.
 * Name stages to run only those, e.g. `deno task test unit pgtap`.
 */
import { start, stop } from "./stack/cli.ts";
import { stackConfig } from "./stack/config.ts";
import { join } from "./stack/paths.ts";
import { buildWeb } from "./web_build.ts";

const root = stackConfig().root;
const testEnv: Record<string, string> = {
  STACK_DIR: join(root, ".stack-test"),
  STACK_API_PORT: Deno.env.get("STACK_API_PORT") ?? "54331",
  STACK_DB_PORT: Deno.env.get("STACK_DB_PORT") ?? "54332",
  STACK_ASR_PORT: Deno.env.get("STACK_ASR_PORT") ?? "54339",
  // Test-only functions (scripts/conformance/functions) and a short limit for the one that
  // proves a function is killed at its wall-clock limit.
  STACK_EXTRA_FUNCTIONS: join(root, "scripts/conformance/functions"),
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

/** Folders of tests that need the running stack; every other *_test.ts is a unit test. */
const stackSuites = {
  db: "scripts/db",
  conformance: "scripts/conformance",
  integration: "scripts/integration",
  e2e: "scripts/e2e",
  security: "scripts/security",
  badinput: "scripts/badinput",
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
  const skip = new Set(Object.values(stackSuites).map((p) => join(root, p)));
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

const all = ["static", "unit", "pgtap", ...Object.keys(stackSuites)];
const wanted = new Set(Deno.args.length ? Deno.args : all);
const deno = Deno.execPath();

if (wanted.has("static")) {
  await run("fmt", [deno, "fmt", "--check"]);
  await run("lint", [deno, "lint"]);
  await run("types", [deno, "check", "scripts", "supabase/functions"]);
}
if (wanted.has("unit")) {
  const files = await unitTestFiles();
  if (files.length) await run("unit tests", [deno, "test", "-A", "--parallel", ...files]);
}

const needsStack = [...wanted].some((s) => s === "pgtap" || s in stackSuites);
if (needsStack) {
  const config = stackConfig({ ...Deno.env.toObject(), ...testEnv });
  console.log(`\n=== stack: fresh test stack in ${config.dir}`);
  await stop(config).catch(() => {});
  await Deno.remove(config.dir, { recursive: true }).catch(() => {});
  try {
    await start(config);
    if (wanted.has("pgtap") && (await exists("supabase/tests/database"))) {
      const tests = [...Deno.readDirSync(join(root, "supabase/tests/database"))]
        .filter((e) => e.name.endsWith(".test.sql")).map((e) =>
          join("supabase/tests/database", e.name)
        ).sort();
      if (tests.length) {
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
        ]);
      }
    }
    for (const [stage, dir] of Object.entries(stackSuites)) {
      if (!wanted.has(stage) || !(await exists(dir))) continue;
      // The browser tests need web/dist built with this stack's anon key.
      if (stage === "e2e") await buildWeb(root, config.dir);
      const files = [...Deno.readDirSync(join(root, dir))].filter((e) =>
        e.name.endsWith("_test.ts")
      )
        .map((e) => join(dir, e.name)).sort();
      if (files.length) await run(`${stage} tests`, [deno, "test", "-A", ...files], testEnv);
    }
  } finally {
    await stop(config).catch((e) => console.error(`stopping the test stack: ${e}`));
  }
}

console.log(
  `\n${
    failures.length ? `failed stages: ${failures.join(", ")}\n` : ""
  }${passed} passed, ${failed} failed`,
);
Deno.exit(failures.length ? 1 : 0);
