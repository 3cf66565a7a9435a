/**
 * /functions/v1/<name>: every folder of supabase/functions served by its own Deno process
 * (scripts/stack/function_host.ts) with Supabase's env vars plus supabase/functions/.env,
 * verify_jwt from supabase/config.toml, restart after a crash or a kill at a hosted limit
 * (wall clock, memory, CPU: enforced inside the process by function_host.ts; as guards against
 * runaway growth between its samples, V8 gets a heap limit of 4 × the memory limit, and here
 * the process is killed when its resident set grows past 4 × the limit above what it had when
 * it started listening — several invocations share one process here).
 *
 * Keys as on hosted: a function gets SUPABASE_PUBLISHABLE_KEYS / SUPABASE_SECRET_KEYS (JSON
 * objects of named keys, `{"default": …}`) and SUPABASE_JWKS (legacy SUPABASE_ANON_KEY /
 * SUPABASE_SERVICE_ROLE_KEY only with the legacy switch on). `verify_jwt` checks the caller's
 * own `Authorization` JWT (an API key there fails it, as on the platform). An `apikey`, when
 * sent, must be one of the project's keys; a request carrying only a key reaches the function
 * with a short-lived JWT of the key's role in `Authorization`, as the hosted gateway hands it.
 *
 * Each process runs in the sandbox of scripts/stack/function_sandbox.ts (what the Edge Runtime
 * grants: network, its env, its bundle, /tmp) with the function's own import map. A process that
 * exits before it listens failed to boot: requests get the platform's 503 BOOT_ERROR at once, and
 * the next request boots it again (as the platform boots a worker per request), so a function
 * that cannot start costs nothing while nobody calls it.
 *
 * For tests, each (re)start also reads `<stack dir>/functions.env` (overrides such as a
 * provider fake's URL, or STACK_FUNCTION_MEMORY_MB to lower a function's memory limit) and writes the process id to `<stack dir>/run/functions/<name>.pid`, so
 * a test can switch providers or kill a function mid-task (scripts/tests/support/function_processes.ts).
 */
import { parse as parseToml } from "smol-toml";
import { join } from "node:path";
import { dbUrl } from "../postgres.ts";
import type { GatewayContext } from "./context.ts";
import { json } from "./http.ts";
import { apiKeyOf, invalidApiKey, verifyBearer } from "./request_role.ts";
import { HttpError } from "./http.ts";
import { readEnvFile } from "../../lib/env_file.ts";
import { sandboxArgs, sandboxEnv, sandboxRuntime, sourceBundle, TMP } from "../function_sandbox.ts";

interface FunctionProcess {
  name: string;
  dir: string;
  verifyJwt: boolean;
  port: number | null;
  /** Settles when the current process listens (true) or exits before it does (false). */
  ready: Promise<boolean>;
  /** The last process exited before it listened; the next request boots a new one. */
  bootFailed: boolean;
  child: Deno.ChildProcess | null;
  /** Settles once the current process has ended and its private temp folder (TMPDIR) is gone. */
  tmpRemoved: Promise<void> | null;
  /** Processes started so far (1 + restarts). */
  starts: number;
}

export interface FunctionsRuntime {
  handle(req: Request, rest: string): Promise<Response>;
  close(): Promise<void>;
}

/** The env vars the platform gives every function (the keys as on hosted, see above). */
export function platformEnv(ctx: GatewayContext): Record<string, string> {
  const { keys } = ctx.keys;
  return {
    SUPABASE_URL: `http://127.0.0.1:${ctx.config.apiPort}`,
    SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: keys.publishableKey }),
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: keys.secretKey }),
    SUPABASE_JWKS: JSON.stringify(ctx.keys.functionJwks()),
    ...(ctx.keys.legacy
      ? { SUPABASE_ANON_KEY: keys.anonKey, SUPABASE_SERVICE_ROLE_KEY: keys.serviceRoleKey }
      : {}),
    SUPABASE_DB_URL: dbUrl(ctx.config),
  };
}

type FunctionsToml = { functions?: Record<string, { verify_jwt?: boolean }> };

async function readFunctionsToml(path: string): Promise<FunctionsToml> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return parseToml(text) as FunctionsToml;
}

/** The guards' limit, in multiples of the memory limit (concurrent invocations share it). */
const GUARD_FACTOR = 4;

/** Resident set of a process in bytes (Linux /proc), or null once it is gone. */
function residentBytes(pid: number): number | null {
  try {
    const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/^VmRSS:\s+(\d+) kB/m);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Kills `child` when its resident set exceeds what it had at start-up by more than
 * GUARD_FACTOR × the memory limit: growth outside what the host samples, or in one long
 * synchronous run.
 */
function watchResidentSet(child: Deno.ChildProcess, limitMb: number): void {
  const base = residentBytes(child.pid);
  if (base === null) return;
  const timer = setInterval(() => {
    const rss = residentBytes(child.pid);
    if (rss === null) return clearInterval(timer);
    if (rss - base > GUARD_FACTOR * limitMb * 1024 * 1024) {
      console.error(JSON.stringify({
        level: "error",
        msg: "memory limit exceeded (resident set); worker killed",
        rss_mb: Math.round(rss / 2 ** 20),
        limit_mb: limitMb,
      }));
      clearInterval(timer);
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }
  }, 100);
  child.status.finally(() => clearInterval(timer));
}

async function functionNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.isDirectory || e.name.startsWith("_") || e.name.startsWith(".")) continue;
    try {
      await Deno.stat(join(dir, e.name, "index.ts"));
      names.push(e.name);
    } catch { /* not a function */ }
  }
  return names.sort();
}

export async function createFunctionsRuntime(ctx: GatewayContext): Promise<FunctionsRuntime> {
  const dir = join(ctx.config.root, "supabase/functions");
  const toml = await readFunctionsToml(join(ctx.config.root, "supabase/config.toml"));
  const pidDir = join(ctx.config.dir, "run", "functions");
  await Deno.mkdir(pidDir, { recursive: true });
  const runtime = await sandboxRuntime();
  const stackEnv = {
    ...platformEnv(ctx),
    OFFLINE_ASR_URL: `http://127.0.0.1:${ctx.config.asrPort}`,
  };
  let closing = false;
  const processes = new Map<string, FunctionProcess>();

  // Read at every (re)start, so a restarted process sees the current overrides.
  const functionEnv = () => ({
    ...readEnvFile(join(dir, ".env")),
    ...readEnvFile(join(ctx.config.dir, "functions.env")),
    ...stackEnv,
  });

  /** Requests from now on wait for the next process to listen (or to fail to boot). */
  function notReady(fp: FunctionProcess): (listening: boolean) => void {
    let markReady!: (listening: boolean) => void;
    fp.ready = new Promise((r) => (markReady = r));
    fp.port = null;
    return markReady;
  }

  // The tree whose supabase/functions a (re)start serves: this repository, or the root named in
  // `<stack dir>/functions.root` (a test serving an earlier release's functions, extracted from
  // git, with that tree's deno.json). Read at every (re)start, as a deploy would switch code.
  const sourceRoot = async (fp: FunctionProcess) => {
    if (fp.dir !== dir) return null;
    const named = await Deno.readTextFile(join(ctx.config.dir, "functions.root")).catch(() => "");
    return named.trim() || null;
  };

  async function spawn(fp: FunctionProcess, markReady = notReady(fp)) {
    fp.starts++;
    const env = functionEnv();
    const otherRoot = await sourceRoot(fp);
    const { functionCpuMs, functionCpuEnforce } = ctx.config;
    // A test may lower the memory limit of a function through <stack dir>/functions.env.
    const functionMemoryMb = Number((env as Record<string, string>).STACK_FUNCTION_MEMORY_MB) ||
      ctx.config.functionMemoryMb;
    // --- The function's sandbox (scripts/stack/function_sandbox.ts): its bundle, its map, its
    // env only (a cleared environment), a private temp folder removed when the process ends.
    const bundle = await sourceBundle(
      otherRoot ? join(otherRoot, "supabase/functions") : fp.dir,
      fp.name,
    );
    const tmpDir = await Deno.makeTempDir({ dir: TMP, prefix: `function-${fp.name}-` });
    if (closing) return void await Deno.remove(tmpDir);
    const child = new Deno.Command(Deno.execPath(), {
      args: sandboxArgs(bundle, runtime, [
        join(ctx.config.root, "scripts/stack/function_host.ts"),
        bundle.entrypoint,
        String(
          ctx.config.functionWallClockOverrides[fp.name] ?? ctx.config.functionWallClockSeconds,
        ),
        String(functionMemoryMb),
        String(functionCpuMs),
        functionCpuEnforce ? "1" : "0",
      ], [`--max-old-space-size=${GUARD_FACTOR * ctx.config.functionMemoryMb}`]),
      cwd: bundle.dirs[0],
      clearEnv: true,
      env: {
        ...sandboxEnv(runtime, tmpDir),
        ...env,
        SB_FUNCTION_NAME: fp.name,
        SB_EXECUTION_ID: crypto.randomUUID(),
      },
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    fp.tmpRemoved = child.status.then(() =>
      Deno.remove(tmpDir, { recursive: true }).catch(() => {})
    );
    // --- end of the sandbox.
    fp.child = child;
    await Deno.writeTextFile(join(pidDir, `${fp.name}.pid`), `${child.pid}\n`);
    // The host prints "READY <port>" once; everything else is the function's own log.
    (async () => {
      let buffer = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        buffer += chunk;
        let nl;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          const ready = line.match(/^READY (\d+)$/);
          if (ready && fp.port === null) {
            fp.port = Number(ready[1]);
            markReady(true);
            watchResidentSet(child, ctx.config.functionMemoryMb);
          } else console.log(line);
        }
      }
    })().catch(() => {});
    child.status.then((s) => {
      if (closing) return;
      // Exited on its own before listening (a signal is a kill, restarted below): a boot error,
      // whose cause the process wrote to the log above.
      if (fp.port === null && s.signal === null) {
        console.error(JSON.stringify({
          level: "error",
          msg: "function failed to boot; the next request tries again",
          function: fp.name,
          code: s.code,
        }));
        fp.bootFailed = true;
        markReady(false);
        return;
      }
      console.error(
        JSON.stringify({ msg: "function exited; restarting", function: fp.name, code: s.code }),
      );
      const markNextReady = notReady(fp);
      setTimeout(() => !closing && void spawn(fp, markNextReady), 200);
    });
  }

  for (const folder of [dir, ...ctx.config.extraFunctionDirs]) {
    // Test-only folders may carry their own config.toml ([functions.<name>] verify_jwt).
    const settings = folder === dir ? toml : await readFunctionsToml(join(folder, "config.toml"));
    for (const name of await functionNames(folder)) {
      const fp: FunctionProcess = {
        name,
        dir: folder,
        verifyJwt: settings.functions?.[name]?.verify_jwt ?? true,
        port: null,
        ready: Promise.resolve(false),
        bootFailed: false,
        child: null,
        tmpRemoved: null,
        starts: 0,
      };
      processes.set(name, fp);
      await spawn(fp);
    }
  }

  // The JWT the gateway hands a function for a request that carried only an API key, per role:
  // minted for 300 s and reused while it has a minute left (an ES256 signature per request
  // was a measurable part of every dispatch).
  const keyTokens = new Map<string, { token: string; until: number }>();
  async function keyToken(role: string): Promise<string> {
    const cached = keyTokens.get(role);
    if (cached && cached.until > Date.now()) return cached.token;
    const token = await ctx.keys.sign({ role, iss: "supabase" }, 300);
    keyTokens.set(role, { token, until: Date.now() + 240_000 });
    return token;
  }

  /** The headers the function sees, after the gateway's key check and verify_jwt. */
  async function gatewayHeaders(req: Request, verifyJwt: boolean): Promise<Headers> {
    const key = apiKeyOf(ctx, req);
    const bearer = req.headers.get("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
    const errorShape = (message: string) => ({ code: 401, message });
    if (verifyJwt) {
      if (!bearer) throw new HttpError(401, errorShape("Missing authorization header"));
      if (bearer.startsWith("sb_")) throw new HttpError(401, errorShape("Invalid JWT"));
      await verifyBearer(ctx, bearer, key?.role ?? null, errorShape);
      return req.headers;
    }
    if (bearer?.startsWith("sb_") && bearer !== key?.key) throw invalidApiKey();
    if (!key || (bearer && !bearer.startsWith("sb_"))) return req.headers;
    const headers = new Headers(req.headers);
    headers.set("authorization", `Bearer ${await keyToken(key.role)}`);
    return headers;
  }

  async function handle(req: Request, rest: string): Promise<Response> {
    const slash = rest.indexOf("/");
    const name = slash < 0 ? rest : rest.slice(0, slash);
    const fp = processes.get(name);
    if (!fp) return json({ code: "NOT_FOUND", message: "Requested function was not found" }, 404);
    let headers = req.headers;
    if (req.method !== "OPTIONS") {
      try {
        headers = await gatewayHeaders(req, fp.verifyJwt);
      } catch (e) {
        if (!(e instanceof HttpError)) throw e;
        return json({ code: e.status, message: e.message, ...e.body }, e.status);
      }
    }
    if (fp.bootFailed) {
      fp.bootFailed = false;
      void spawn(fp);
    }
    // Waits only for a process that is (re)starting; a running one answers at once, without
    // leaving a 15-second timer behind for every request.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ready = fp.port !== null || await Promise.race([
      fp.ready,
      new Promise<false>((r) => (timer = setTimeout(() => r(false), 15_000))),
    ]).finally(() => clearTimeout(timer));
    if (!ready || fp.port === null) {
      return json(
        { code: "BOOT_ERROR", message: "Function failed to start (please check logs)" },
        503,
      );
    }
    const url = new URL(req.url);
    const target = `http://127.0.0.1:${fp.port}/${name}${
      slash < 0 ? "" : rest.slice(slash)
    }${url.search}`;
    try {
      const res = await fetch(target, {
        method: req.method,
        headers,
        body: req.body,
        redirect: "manual",
      });
      return new Response(res.body, {
        status: res.status,
        statusText: res.statusText,
        headers: res.headers,
      });
    } catch (e) {
      return json({
        code: "WORKER_ERROR",
        message: `Function ${name} is not answering: ${(e as Error).message}`,
      }, 502);
    }
  }

  return {
    handle,
    async close() {
      closing = true;
      await Promise.allSettled([...processes.values()].map(async (fp) => {
        try {
          fp.child?.kill("SIGTERM");
        } catch { /* gone */ }
        await fp.child?.status;
        await fp.tmpRemoved;
      }));
    },
  };
}
