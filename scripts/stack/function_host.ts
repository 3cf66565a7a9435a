/**
 * Hosts one Edge Function in its own Deno process, with what Supabase's Edge Runtime provides:
 * `EdgeRuntime.waitUntil`, `Deno.serve` bound to the port the stack chose, and the hosted
 * limits of supabase/functions/_shared/engine/limits.ts, enforced as the hosted runtime does — by
 * killing the worker, so its task recovers through the normal path (stale lease → retry):
 *
 * - wall clock: a request or a background task of it still running past the limit;
 * - memory: the isolate's V8 heap in use plus its array buffers (`Deno.memoryUsage()`
 *   heapUsed + external, what the Edge Runtime counts for a worker), sampled every 50 ms while
 *   an invocation runs. One process serves all requests of a function here, where the hosted
 *   platform gives concurrent invocations workers of their own, and memory cannot be told
 *   apart between requests of one isolate: so the process is killed past the limit times the
 *   number of invocations running (one invocation alone: past the limit itself). The gateway
 *   also passes V8 a heap limit and watches the resident set, as guards against runaway
 *   growth between samples (scripts/stack/gateway/functions.ts);
 * - CPU: the process's CPU time (user + system, `node:process` cpuUsage) across an invocation
 *   that ran alone from start to end, so all of it is that request's (module loading before
 *   it excluded). Past the limit it is logged as a warning, and killed while running when the
 *   limit is enforced (the default; `0` as the 4th argument warns only).
 *
 * Every invocation that ends logs one line `{"msg": "invocation", "wall_ms", "cpu_ms"
 * (null when it overlapped another), "peak_memory_mb"}` on stderr, which the bench reads.
 *
 * It runs inside the function's sandbox (scripts/stack/function_sandbox.ts) and needs nothing the
 * function lacks: its measures are the isolate's own (`Deno.memoryUsage`, `cpuUsage`), it kills
 * by exiting, and it talks to the gateway only through the process's pipes (`READY <port>` on
 * stdout, its log lines on stderr) and the loopback port it serves on — no files, no /proc.
 *
 * Usage: function_host.ts <entry path> <wall-clock s> <memory MB> <CPU ms> [<enforce CPU 0|1>]
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { cpuUsage } from "node:process";
import { pathToFileURL } from "node:url";

const [entry, limitArg, memoryArg, cpuArg, enforceCpuArg] = Deno.args;
const limitMs = Number(limitArg) * 1000;
const memoryLimit = Number(memoryArg ?? 256) * 1024 * 1024;
const cpuLimitMs = Number(cpuArg ?? 2000);
const enforceCpu = enforceCpuArg !== "0";

/** One request with its waitUntil promises, from arrival until all of them settle. */
interface Invocation {
  started: number;
  deadline: number;
  cpuAtStart: number;
  /** No other invocation ran at any moment of this one. */
  alone: boolean;
  peakMemory: number;
  open: number;
}

const running = new Set<Invocation>();
/** The invocation whose code is running, across its awaits. */
const current = new AsyncLocalStorage<Invocation>();

const cpuMs = () => {
  const c = cpuUsage();
  return (c.user + c.system) / 1000;
};
const memory = () => {
  const m = Deno.memoryUsage();
  return m.heapUsed + m.external;
};
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

function kill(msg: string, detail: Record<string, unknown>): never {
  const name = Deno.env.get("SB_FUNCTION_NAME");
  console.error(JSON.stringify({ level: "error", msg, function: name, ...detail }));
  Deno.exit(137);
}

function hold(inv: Invocation, promise: Promise<unknown>) {
  inv.open++;
  const done = () => {
    if (--inv.open > 0) return;
    running.delete(inv);
    const cpu = inv.alone ? cpuMs() - inv.cpuAtStart : null;
    const line = {
      msg: "invocation",
      function: Deno.env.get("SB_FUNCTION_NAME"),
      wall_ms: Date.now() - inv.started,
      cpu_ms: cpu === null ? null : Math.round(cpu),
      peak_memory_mb: mb(Math.max(inv.peakMemory, memory())),
    };
    console.error(JSON.stringify(line));
    if (cpu !== null && cpu > cpuLimitMs) {
      console.error(JSON.stringify({
        level: "warning",
        msg: "CPU time limit exceeded",
        function: line.function,
        cpu_ms: Math.round(cpu),
        limit_ms: cpuLimitMs,
      }));
    }
  };
  promise.then(done, done);
}

setInterval(() => {
  if (running.size === 0) return;
  const now = Date.now();
  const used = memory();
  for (const inv of running) {
    inv.peakMemory = Math.max(inv.peakMemory, used);
    if (inv.deadline <= now) {
      kill("wall clock time limit reached; worker killed", { limit_s: limitMs / 1000 });
    }
  }
  if (used > memoryLimit * running.size) {
    kill("memory limit exceeded; worker killed", {
      memory_mb: mb(used),
      limit_mb: mb(memoryLimit),
      invocations: running.size,
    });
  }
  if (enforceCpu && running.size === 1) {
    const [inv] = running;
    const cpu = cpuMs() - inv.cpuAtStart;
    if (inv.alone && cpu > cpuLimitMs) {
      kill("CPU time limit reached; worker killed", {
        cpu_ms: Math.round(cpu),
        limit_ms: cpuLimitMs,
      });
    }
  }
}, 50);

(globalThis as unknown as { EdgeRuntime: unknown }).EdgeRuntime = {
  waitUntil(promise: Promise<unknown>) {
    const settled = Promise.resolve(promise).catch(() => {});
    // Outside a request (module scope), the work gets an invocation of its own.
    const inv = current.getStore();
    hold(inv && running.has(inv) ? inv : begin(), settled);
  },
};

function begin(): Invocation {
  const inv: Invocation = {
    started: Date.now(),
    deadline: Date.now() + limitMs,
    cpuAtStart: cpuMs(),
    alone: running.size === 0,
    peakMemory: memory(),
    open: 0,
  };
  for (const other of running) other.alone = false;
  running.add(inv);
  return inv;
}

type Handler = (req: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;
const serve = Deno.serve;
// deno-lint-ignore no-explicit-any
(Deno as any).serve = (a: unknown, b?: unknown) => {
  const handler =
    (typeof a === "function"
      ? a
      : typeof b === "function"
      ? b
      : (a as { handler: Handler }).handler) as Handler;
  return serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => console.log(`READY ${port}`),
  }, (req, info) => {
    const inv = begin();
    const response = current.run(inv, () => Promise.resolve().then(() => handler(req, info)));
    hold(inv, response);
    return response;
  });
};

await import(entry.startsWith("file:") ? entry : pathToFileURL(entry).href);
