/**
 * `deno task chaos` — breaks things on purpose against a stack of its own (.stack-chaos; ports
 * from STACK_API_PORT / STACK_DB_PORT / STACK_ASR_PORT, else 54341/54342/54349) whose functions
 * talk to a scriptable OpenAI-compatible fake, and prints a table of every case with its outcome
 * and figures. Each case has 3 minutes. Exit status 1 when any case fails.
 * `deno task chaos <words>` runs only the cases whose name contains one of the words.
 */
import { startOpenAiFake } from "../../tests/fakes/openai_fake.ts";
import { start, stop } from "../../stack/cli.ts";
import { stackConfig } from "../../stack/config.ts";
import { join } from "node:path";
import { adminSql } from "../../tests/support/stack_env.ts";
import { CASES } from "./cases.ts";
import { type CaseResult, startTicker } from "./harness.ts";

const CASE_LIMIT_MS = 180_000;

const root = stackConfig().root;
const env = {
  ...Deno.env.toObject(),
  STACK_DIR: join(root, ".stack-chaos"),
  STACK_API_PORT: Deno.env.get("STACK_API_PORT") ?? "54341",
  STACK_DB_PORT: Deno.env.get("STACK_DB_PORT") ?? "54342",
  STACK_ASR_PORT: Deno.env.get("STACK_ASR_PORT") ?? "54349",
};
const wanted = Deno.args.map((a) => a.toLowerCase());
const cases = CASES.filter((c) =>
  !wanted.length || wanted.some((w) => c.name.toLowerCase().includes(w))
);

const config = stackConfig(env);
console.log(`chaos: fresh stack in ${config.dir}`);
await stop(config).catch(() => {});
await Deno.remove(config.dir, { recursive: true }).catch(() => {});
await Deno.mkdir(config.dir, { recursive: true });
const fake = startOpenAiFake();
// The function processes read their overrides from <stack dir>/functions.env at every start.
await Deno.writeTextFile(
  join(config.dir, "functions.env"),
  [
    "TRANSCRIBE_PROVIDER=openai",
    `OPENAI_BASE_URL=${fake.url}`,
    "OPENAI_API_KEY=chaos",
    "PROVIDER_TIMEOUT_MS=3000",
  ].join("\n") + "\n",
);
// stack_env.ts and the cases find the stack through these.
for (const k of ["STACK_DIR", "STACK_API_PORT", "STACK_DB_PORT", "STACK_ASR_PORT"] as const) {
  Deno.env.set(k, env[k]);
}
// 100 users sign in at once from this one address (the load case): lift the per-IP limit.
Deno.env.set("STACK_AUTH_RATE_LIMIT_ANONYMOUS_USERS", "360000");

interface Row extends Partial<CaseResult> {
  name: string;
  outcome: "pass" | "FAIL";
  seconds: number;
  error?: string;
}
const rows: Row[] = [];

try {
  await start(config);
  const sql = adminSql();
  // Faster engine timings, so faults resolve within a case: a task silent for 12 s is stale
  // (the step runtime beats every 5 s), retries wait 1 s × 2^n (at most 5 s), dispatches time
  // out after 3 s. The tick runs every second instead of pg_cron's minute.
  await sql`update private.settings set stale_after_seconds = 12, backoff_base_seconds = 1,
    backoff_max_seconds = 5, dispatch_timeout_ms = 3000`;
  const ticker = startTicker(sql, 1000);
  for (const c of cases) {
    console.log(`\n--- ${c.name}`);
    const t0 = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const result = await Promise.race([
        c.run({ config, sql, fake, log: (m) => console.log(`    ${m}`) }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("over the 3-minute limit")), CASE_LIMIT_MS);
        }),
      ]);
      rows.push({
        name: c.name,
        outcome: "pass",
        seconds: (performance.now() - t0) / 1000,
        ...result,
      });
    } catch (e) {
      rows.push({
        name: c.name,
        outcome: "FAIL",
        seconds: (performance.now() - t0) / 1000,
        error: (e as Error).message.slice(0, 400),
      });
    } finally {
      clearTimeout(timer);
    }
    const last = rows.at(-1)!;
    console.log(`    ${last.outcome} in ${last.seconds.toFixed(1)} s: ${last.error ?? last.notes}`);
  }
  await ticker.stop();
  await sql`update private.settings set stale_after_seconds = 90, backoff_base_seconds = 10,
    backoff_max_seconds = 600, dispatch_timeout_ms = 5000`;
  await sql.end({ timeout: 1 });
} finally {
  await stop(config).catch((e) => console.error(`stopping the chaos stack: ${e}`));
  await fake.close();
}

const cell = (v: unknown) => (v === undefined ? "" : String(v));
const header = [
  "case",
  "outcome",
  "s",
  "submitted",
  "accepted",
  "refused",
  "completed",
  "failed",
  "peak active",
  "recovery s",
  "notes",
];
console.log(`\n| ${header.join(" | ")} |\n|${header.map(() => "---").join("|")}|`);
for (const r of rows) {
  console.log(`| ${
    [
      r.name,
      r.outcome,
      r.seconds.toFixed(0),
      r.submitted,
      r.accepted,
      r.refused,
      r.completed,
      r.failed,
      r.peakActive,
      r.recoverySeconds,
      r.error ?? r.notes,
    ].map(cell).join(" | ")
  } |`);
}
const failedCases = rows.filter((r) => r.outcome !== "pass").length;
console.log(`\n${rows.length - failedCases} passed, ${failedCases} failed`);
Deno.exit(failedCases ? 1 : 0);
