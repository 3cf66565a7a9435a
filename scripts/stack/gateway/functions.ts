/**
 * /functions/v1/<name>: every function live on the stack's Management API
 * (scripts/stack/control_plane: what the real CLI uploaded with `functions deploy --use-api`)
 * served by its own Deno process (scripts/stack/function_host.ts) from exactly that upload:
 * cwd is the upload's folder, the entrypoint and import map are the uploaded ones (never the
 * repository's deno.json), verify_jwt is the upload's metadata, and the env is Supabase's env
 * vars plus the project's secrets (`secrets set`). A new deployment replaces the function's
 * process. Restart after a crash or a kill at a hosted limit
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
 * grants: network, its env, its upload, /tmp) with the upload's own import map.
 *
 * Stack-only, for tests (hosted has nothing like it): each (re)start also reads
 * `<stack dir>/functions.env` over the secrets (overrides such as a provider fake's URL, or
 * STACK_FUNCTION_MEMORY_MB to lower a function's memory limit) and writes the process id to
 * `<stack dir>/run/functions/<name>.pid`, so a test can switch providers or kill a function
 * mid-task (scripts/tests/support/function_processes.ts).
 */
import { join } from "node:path";
import { dbUrl } from "../postgres.ts";
import type { GatewayContext } from "./context.ts";
import { json } from "./http.ts";
import { apiKeyOf, invalidApiKey, verifyBearer } from "./request_role.ts";
import { HttpError } from "./http.ts";
import { readEnvFile } from "../../lib/env_file.ts";
import { sandboxArgs, sandboxEnv, sandboxRuntime, TMP } from "../function_sandbox.ts";
import type { ActiveFunction, ControlPlaneStore } from "../control_plane/store.ts";

interface FunctionProcess {
  name: string;
  /** The live upload this process serves (its bundleDir is all the function may read). */
  upload: ActiveFunction;
  port: number | null;
  /** true once the current process listens; false when it exited before (a boot error). */
  ready: Promise<boolean>;
  /** The last process exited before it listened; the next request tries again. */
  bootFailed: boolean;
  child: Deno.ChildProcess | null;
  /** Settles once the current process has ended and its private temp folder (TMPDIR) is gone. */
  tmpRemoved: Promise<void> | null;
  /** Processes started so far (1 + restarts). */
  starts: number;
}

export interface FunctionsRuntime {
  handle(req: Request, rest: string): Promise<Response>;
  /** Serves the now-live uploads of `slugs` (the control plane calls it after a deploy). */
  deployed(slugs: string[]): Promise<void>;
  /** Starts every function again with the project's current secrets (after `secrets set`). */
  secretsChanged(): void;
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

export async function createFunctionsRuntime(
  ctx: GatewayContext,
  store: ControlPlaneStore,
): Promise<FunctionsRuntime> {
  const pidDir = join(ctx.config.dir, "run", "functions");
  await Deno.mkdir(pidDir, { recursive: true });
  const runtime = await sandboxRuntime();
  let closing = false;
  const processes = new Map<string, FunctionProcess>();
  /** Counts `secrets set` calls: a process started before the last one has stale env. */
  let secretsGeneration = 0;

  // Read at every (re)start, so a restarted process sees the current secrets and overrides.
  const functionEnv = async () => ({
    ...(await store.secrets()),
    ...readEnvFile(join(ctx.config.dir, "functions.env")),
    ...platformEnv(ctx),
  });

  /** Requests from now on wait for the next process to listen. */
  function notReady(fp: FunctionProcess): (listening: boolean) => void {
    let markReady!: (listening: boolean) => void;
    fp.ready = new Promise((r) => (markReady = r));
    fp.port = null;
    return markReady;
  }

  async function spawn(fp: FunctionProcess, markReady = notReady(fp)) {
    fp.starts++;
    const generation = secretsGeneration;
    let stale = false;
    const env = await functionEnv();
    const { functionCpuMs, functionCpuEnforce } = ctx.config;
    // A test may lower the memory limit of a function through <stack dir>/functions.env.
    const functionMemoryMb = Number((env as Record<string, string>).STACK_FUNCTION_MEMORY_MB) ||
      ctx.config.functionMemoryMb;
    // --- The function's sandbox (scripts/stack/function_sandbox.ts): the upload is its bundle
    // (entrypoint and import map as uploaded), its env only (a cleared environment), a private
    // temp folder removed when the process ends.
    const bundle = {
      dirs: [fp.upload.bundleDir],
      entrypoint: fp.upload.entrypoint,
      importMap: fp.upload.importMap,
    };
    const tmpDir = await Deno.makeTempDir({ dir: TMP, prefix: `function-${fp.name}-` });
    if (closing) return void await Deno.remove(tmpDir);
    const child = new Deno.Command(Deno.execPath(), {
      args: sandboxArgs(
        bundle,
        runtime,
        [
          join(ctx.config.root, "scripts/stack/function_host.ts"),
          bundle.entrypoint,
          String(
            ctx.config.functionWallClockOverrides[fp.name] ?? ctx.config.functionWallClockSeconds,
          ),
          String(functionMemoryMb),
          String(functionCpuMs),
          functionCpuEnforce ? "1" : "0",
        ],
        [`--max-old-space-size=${GUARD_FACTOR * ctx.config.functionMemoryMb}`],
        tmpDir,
      ),
      cwd: fp.upload.bundleDir,
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
          if (ready && fp.port === null && generation !== secretsGeneration) {
            // The secrets changed while it booted: the requests waiting go to the next one.
            stale = true;
            child.kill("SIGTERM");
          } else if (ready && fp.port === null) {
            fp.port = Number(ready[1]);
            markReady(true);
            watchResidentSet(child, ctx.config.functionMemoryMb);
          } else console.log(line);
        }
      }
    })().catch(() => {});
    child.status.then((s) => {
      if (closing) return;
      if (stale) return void spawn(fp, markReady);
      if (fp.port === null && s.signal === null) {
        // A function that cannot boot (say, an import its upload cannot resolve) is not
        // restarted in a loop: requests get BOOT_ERROR, as hosted, and the next one retries.
        // (One killed while it started, by a test or a new deployment, starts again.)
        console.error(
          JSON.stringify({ msg: "function failed to boot", function: fp.name, code: s.code }),
        );
        fp.bootFailed = true;
        markReady(false);
        return;
      }
      console.error(
        JSON.stringify({ msg: "function exited; restarting", function: fp.name, code: s.code }),
      );
      // Requests waiting for this one (killed while it started) wait for the next.
      const markNext = fp.port === null ? markReady : notReady(fp);
      setTimeout(() => !closing && void spawn(fp, markNext), 200);
    });
  }

  /** Serves the live upload of each slug: a new process, or the old one replaced. */
  async function deployed(slugs: string[]) {
    const live = await store.active();
    for (const slug of slugs) {
      const deployment = live[slug];
      if (!deployment) continue;
      const upload = store.resolve(deployment);
      const fp = processes.get(slug);
      if (!fp) {
        const created: FunctionProcess = {
          name: slug,
          upload,
          port: null,
          ready: Promise.resolve(false),
          bootFailed: false,
          child: null,
          tmpRemoved: null,
          starts: 0,
        };
        processes.set(slug, created);
        await spawn(created);
      } else if (fp.upload.deployment.version !== deployment.version) {
        // The exit handler starts the next process, now from the new upload.
        fp.upload = upload;
        if (fp.bootFailed) {
          fp.bootFailed = false;
          await spawn(fp);
        } else {
          try {
            fp.child?.kill("SIGTERM");
          } catch { /* already gone: restarting */ }
        }
      }
    }
  }
  await deployed(Object.keys(await store.active()));

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
        headers = await gatewayHeaders(req, fp.upload.deployment.verify_jwt);
      } catch (e) {
        if (!(e instanceof HttpError)) throw e;
        return json({ code: e.status, message: e.message, ...e.body }, e.status);
      }
    }
    // Waits only for a process that is (re)starting; a running one answers at once, without
    // leaving a 15-second timer behind for every request.
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (fp.bootFailed) {
      fp.bootFailed = false;
      void spawn(fp);
    }
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

  function secretsChanged() {
    secretsGeneration++;
    for (const fp of processes.values()) {
      // One that is booting restarts once it listens; one that failed to boot reads them when
      // the next request starts it.
      if (fp.port === null) continue;
      try {
        fp.child?.kill("SIGTERM");
      } catch { /* gone: restarting */ }
    }
  }

  return {
    handle,
    deployed,
    secretsChanged,
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
