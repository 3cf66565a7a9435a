/**
 * /functions/v1/<name>: every folder of supabase/functions served by its own Deno process
 * (scripts/stack/function_host.ts) with Supabase's env vars plus supabase/functions/.env,
 * verify_jwt from supabase/config.toml, restart after a crash or a wall-clock kill.
 *
 * For tests, each (re)start also reads `<stack dir>/functions.env` (overrides such as a
 * provider fake's URL) and writes the process id to `<stack dir>/run/functions/<name>.pid`, so
 * a test can switch providers or kill a function mid-task (scripts/testing/function_processes.ts).
 */
import { parse as parseToml } from "smol-toml";
import { join } from "../paths.ts";
import { dbUrl } from "../postgres.ts";
import type { GatewayContext } from "./context.ts";
import { json } from "./http.ts";
import { authenticate } from "./request_role.ts";

interface FunctionProcess {
  name: string;
  dir: string;
  verifyJwt: boolean;
  port: number | null;
  ready: Promise<void>;
  child: Deno.ChildProcess | null;
  /** Processes started so far (1 + restarts). */
  starts: number;
}

export interface FunctionsRuntime {
  handle(req: Request, rest: string): Promise<Response>;
  close(): Promise<void>;
}

async function readDotEnv(path: string): Promise<Record<string, string>> {
  const text = await Deno.readTextFile(path).catch(() => "");
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = line.match(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/);
    if (m) env[m[1]] = m[2].replace(/^(['"])(.*)\1$/, "$2");
  }
  return env;
}

/**
 * The offline engine (scripts/asr) decodes on this machine's cores and each request already
 * uses all of them, so chunks sent at once only queue there: with a 1-hour recording the last
 * ones waited past the provider timeout and the step's wall clock, were sent again, and the
 * job failed. While transcribe runs with it, the dispatcher lets one chunk at a time reach it
 * (private.settings.step_parallelism); with any other engine, no cap.
 */
async function capOfflineTranscription(
  ctx: Pick<GatewayContext, "admin">,
  env: Record<string, string>,
): Promise<void> {
  const offline = (env.TRANSCRIBE_PROVIDER?.trim() || "offline") === "offline";
  await ctx.admin`
    update private.settings set step_parallelism = case when ${offline}
      then step_parallelism || '{"transcribe": 1}' else step_parallelism - 'transcribe' end`;
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
  const toml = parseToml(
    await Deno.readTextFile(join(ctx.config.root, "supabase/config.toml")),
  ) as {
    functions?: Record<string, { verify_jwt?: boolean }>;
  };
  const pidDir = join(ctx.config.dir, "run", "functions");
  await Deno.mkdir(pidDir, { recursive: true });
  const stackEnv = {
    SUPABASE_URL: `http://127.0.0.1:${ctx.config.apiPort}`,
    SUPABASE_ANON_KEY: ctx.keys.anonKey,
    SUPABASE_SERVICE_ROLE_KEY: ctx.keys.serviceRoleKey,
    SUPABASE_DB_URL: dbUrl(ctx.config),
    OFFLINE_ASR_URL: `http://127.0.0.1:${ctx.config.asrPort}`,
  };
  let closing = false;
  const processes = new Map<string, FunctionProcess>();

  // Read at every (re)start, so a restarted process sees the current overrides.
  const functionEnv = async () => ({
    ...(await readDotEnv(join(dir, ".env"))),
    ...(await readDotEnv(join(ctx.config.dir, "functions.env"))),
    ...stackEnv,
  });

  /** Requests from now on wait for the next process to listen. */
  function notReady(fp: FunctionProcess): () => void {
    let markReady!: () => void;
    fp.ready = new Promise((r) => (markReady = r));
    fp.port = null;
    return markReady;
  }

  async function spawn(fp: FunctionProcess, markReady = notReady(fp)) {
    fp.starts++;
    const env = await functionEnv();
    if (fp.name === "transcribe") await capOfflineTranscription(ctx, env);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(ctx.config.root, "scripts/stack/function_host.ts"),
        join(fp.dir, fp.name, "index.ts"),
        String(
          ctx.config.functionWallClockOverrides[fp.name] ?? ctx.config.functionWallClockSeconds,
        ),
      ],
      cwd: ctx.config.root,
      env: { ...env, SB_FUNCTION_NAME: fp.name },
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
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
            markReady();
          } else console.log(line);
        }
      }
    })().catch(() => {});
    child.status.then((s) => {
      if (closing) return;
      console.error(
        JSON.stringify({ msg: "function exited; restarting", function: fp.name, code: s.code }),
      );
      const markReady = notReady(fp);
      setTimeout(() => !closing && void spawn(fp, markReady), 200);
    });
  }

  for (const folder of [dir, ...ctx.config.extraFunctionDirs]) {
    for (const name of await functionNames(folder)) {
      const fp: FunctionProcess = {
        name,
        dir: folder,
        verifyJwt: toml.functions?.[name]?.verify_jwt ?? true,
        port: null,
        ready: Promise.resolve(),
        child: null,
        starts: 0,
      };
      processes.set(name, fp);
      await spawn(fp);
    }
  }

  async function handle(req: Request, rest: string): Promise<Response> {
    const slash = rest.indexOf("/");
    const name = slash < 0 ? rest : rest.slice(0, slash);
    const fp = processes.get(name);
    if (!fp) return json({ code: "NOT_FOUND", message: "Requested function was not found" }, 404);
    if (fp.verifyJwt && req.method !== "OPTIONS") {
      try {
        await authenticate(ctx, req, (message) => ({ code: 401, message }));
      } catch (e) {
        const status = (e as { status?: number }).status ?? 401;
        return json({ code: status, message: (e as Error).message }, status);
      }
    }
    // Waits only for a process that is (re)starting; a running one answers at once, without
    // leaving a 15-second timer behind for every request.
    let timer: number | undefined;
    const ready = fp.port !== null || await Promise.race([
      fp.ready.then(() => true),
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
        headers: req.headers,
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
      }));
    },
  };
}
