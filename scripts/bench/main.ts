/**
 * `deno task bench [--quick] [--out FILE] [suite...]` — the benchmark suite (issue 6), not part
 * of the test command. Runs every suite of scripts/bench/suites.ts against a Supabase and
 * writes FILE (default bench/results/latest.json) plus a Markdown table beside it (.md).
 *
 * The Supabase is SUPABASE_* when set; otherwise the local stack in STACK_DIR (default
 * .stack-bench, ports STACK_API_PORT/STACK_DB_PORT/STACK_ASR_PORT, default 54341/54342/54349).
 * When that stack is not running, the bench starts a fresh one whose step functions
 * transcribe with a scripted OpenAI-compatible fake (scripts/tests/fakes) running in this process,
 * and stops and removes it at the end. A suite that fails is recorded with its error; the
 * others' figures are kept; the exit code is then 1.
 */
import postgres from "postgres";
import { startOpenAiFake } from "../tests/fakes/openai_fake.ts";
import type { FakeServer } from "../tests/fakes/fake_server.ts";
import { healthy, start, stop } from "../stack/cli.ts";
import { stackConfig } from "../stack/config.ts";
import { dirname, join } from "node:path";
import { stackEnv } from "../tests/support/stack_env.ts";
import {
  type BenchDocument,
  machineInfo,
  meetsTarget,
  renderMarkdown,
  type SuiteOutcome,
} from "./report.ts";
import type { BenchContext, BenchResult, BenchSuite } from "./suite.ts";
import { suites } from "./suites.ts";

interface Options {
  quick: boolean;
  out: string;
  only: string[];
}

function parseArgs(args: string[], root: string): Options {
  const options: Options = {
    quick: false,
    out: join(root, "bench/results/latest.json"),
    only: [],
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--quick") options.quick = true;
    else if (arg === "--out") {
      const file = args[++i];
      if (!file) throw new Error("--out needs a file name");
      options.out = file.startsWith("/") ? file : join(Deno.cwd(), file);
    } else if (arg.startsWith("--out=")) {
      const file = arg.slice("--out=".length);
      options.out = file.startsWith("/") ? file : join(Deno.cwd(), file);
    } else if (arg.startsWith("-")) throw new Error(`unknown flag ${arg}`);
    else options.only.push(arg);
  }
  const known = new Set(suites.map((s) => s.name));
  const unknown = options.only.filter((n) => !known.has(n));
  if (unknown.length) {
    throw new Error(`unknown suite ${unknown.join(", ")}; known: ${[...known].join(", ")}`);
  }
  return options;
}

/** Runs one suite, turning a throw into a recorded failure. */
async function runSuite(
  suite: BenchSuite,
  ctx: BenchContext,
): Promise<{ outcome: SuiteOutcome; result: BenchResult | null }> {
  const t0 = performance.now();
  const seconds = () => Math.round((performance.now() - t0) / 100) / 10;
  ctx.log(`${suite.name}: started${suite.background ? " (in the background)" : ""}`);
  try {
    const result = await suite.run({ ...ctx, log: (m) => ctx.log(`${suite.name}: ${m}`) });
    ctx.log(`${suite.name}: done in ${seconds()} s ${JSON.stringify(result.figures)}`);
    return {
      outcome: { name: suite.name, ok: true, seconds: seconds(), notes: result.notes ?? [] },
      result,
    };
  } catch (e) {
    const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
    ctx.log(`${suite.name}: FAILED after ${seconds()} s: ${error}`);
    return {
      outcome: { name: suite.name, ok: false, seconds: seconds(), error, notes: [] },
      result: null,
    };
  }
}

async function main(): Promise<number> {
  const root = stackConfig().root;
  const options = parseArgs(Deno.args, root);
  const env = Deno.env.toObject();
  const external = Boolean(env.SUPABASE_URL && env.SUPABASE_DB_URL);
  // The bench's own stack, so it never measures (or fills with a million rows) your dev data.
  const benchEnv = {
    STACK_DIR: env.STACK_DIR ?? join(root, ".stack-bench"),
    STACK_API_PORT: env.STACK_API_PORT ?? "54341",
    STACK_DB_PORT: env.STACK_DB_PORT ?? "54342",
    STACK_ASR_PORT: env.STACK_ASR_PORT ?? "54349",
  };
  for (const [k, v] of Object.entries(benchEnv)) Deno.env.set(k, v);
  // Suites sign in many users from this one address: lift the per-IP limit of sign-ins.
  Deno.env.set("STACK_AUTH_RATE_LIMIT_ANONYMOUS_USERS", "360000");
  const config = stackConfig();
  const log = (message: string) => console.error(`bench: ${message}`);

  let provider: FakeServer | undefined;
  let startedStack = false;
  if (!external && !(await healthy(config))) {
    provider = startOpenAiFake();
    log(`starting a fresh stack in ${config.dir} (provider fake at ${provider.url})`);
    await stop(config).catch(() => {});
    await Deno.remove(config.dir, { recursive: true }).catch(() => {});
    await Deno.mkdir(config.dir, { recursive: true });
    // Read by every function process at start (scripts/stack/gateway/functions.ts). A key of
    // the fake's own, so no key from this shell is ever sent.
    await Deno.writeTextFile(
      join(config.dir, "functions.env"),
      `TRANSCRIBE_PROVIDER=openai\nOPENAI_BASE_URL=${provider.url}\nOPENAI_API_KEY=bench\n`,
    );
    await start(config);
    startedStack = true;
  } else {
    log(`using the running Supabase at ${external ? env.SUPABASE_URL : config.dir}`);
  }

  const failed: string[] = [];
  try {
    const sql = postgres(stackEnv().SUPABASE_DB_URL, { max: 1, onnotice: () => {} });
    const [{ version }] = await sql<{ version: string }[]>`select version()`;
    await sql.end();
    const quick = options.quick;
    const ctx: BenchContext = {
      quick,
      runs: 3,
      env: stackEnv(),
      log,
      provider,
      offlineAsrUrl: external ? env.OFFLINE_ASR_URL : `http://127.0.0.1:${config.asrPort}`,
    };
    const chosen = suites.filter((s) => !options.only.length || options.only.includes(s.name));
    const began = performance.now();
    const background = chosen.filter((s) => s.background).map((s) => runSuite(s, ctx));
    const results: { outcome: SuiteOutcome; result: BenchResult | null }[] = [];
    for (const suite of chosen.filter((s) => !s.background)) {
      results.push(await runSuite(suite, ctx));
    }
    results.push(...await Promise.all(background));

    const doc: BenchDocument = {
      date: new Date().toISOString(),
      command: `deno task bench${Deno.args.length ? " " + Deno.args.join(" ") : ""}`,
      quick,
      runs: ctx.runs,
      machine: machineInfo(version.split(" on ")[0]),
      figures: {},
      ranges: {},
      targets: {},
      met: {},
      suites: [],
    };
    for (const { outcome, result } of results) {
      doc.suites.push(outcome);
      if (!outcome.ok) failed.push(outcome.name);
      if (!result) continue;
      Object.assign(doc.figures, result.figures);
      Object.assign(doc.ranges, result.ranges ?? {});
      Object.assign(doc.targets, result.targets ?? {});
    }
    for (const [key, target] of Object.entries(doc.targets)) {
      const met = key in doc.figures ? meetsTarget(target, doc.figures[key]) : null;
      if (met !== null) doc.met[key] = met;
    }
    await Deno.mkdir(dirname(options.out), { recursive: true });
    await Deno.writeTextFile(options.out, JSON.stringify(doc, null, 2) + "\n");
    const markdown = options.out.replace(/\.json$/, "") + ".md";
    await Deno.writeTextFile(markdown, renderMarkdown(doc));
    log(
      `wrote ${options.out} and ${markdown} in ${Math.round((performance.now() - began) / 1000)} s`,
    );
    const missed = Object.entries(doc.met).filter(([, ok]) => !ok).map(([k]) => k);
    if (missed.length) log(`targets not met: ${missed.join(", ")}`);
  } finally {
    if (startedStack) {
      await stop(config).catch((e) => log(`stopping the bench stack: ${e}`));
      await Deno.remove(config.dir, { recursive: true }).catch(() => {});
    }
    await provider?.close();
  }
  if (failed.length) log(`failed suites: ${failed.join(", ")}`);
  return failed.length ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
