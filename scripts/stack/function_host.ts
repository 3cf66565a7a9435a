/**
 * Hosts one Edge Function in its own Deno process, with what Supabase's Edge Runtime provides:
 * `EdgeRuntime.waitUntil`, `Deno.serve` bound to the port the stack chose, and the wall-clock
 * limit — past it, with a request or background task still running, the process is killed as
 * the hosted runtime kills its worker. Usage: function_host.ts <entry.ts> <wall-clock seconds>.
 */
const [entry, limitArg] = Deno.args;
const limitMs = Number(limitArg) * 1000;

/** Deadlines of unfinished work: one per request, shared by its waitUntil promises. */
const pending = new Map<number, number>();
let nextId = 0;
let currentDeadline: number | null = null;

function track<T>(promise: Promise<T>, deadline: number): Promise<T> {
  const id = nextId++;
  pending.set(id, deadline);
  const done = () => pending.delete(id);
  promise.then(done, done);
  return promise;
}

setInterval(() => {
  const now = Date.now();
  for (const deadline of pending.values()) {
    if (deadline <= now) {
      console.error(JSON.stringify({
        level: "error",
        msg: "wall clock time limit reached; worker killed",
        limit_s: limitMs / 1000,
      }));
      Deno.exit(137);
    }
  }
}, 250);

(globalThis as unknown as { EdgeRuntime: unknown }).EdgeRuntime = {
  waitUntil(promise: Promise<unknown>) {
    track(Promise.resolve(promise).catch(() => {}), currentDeadline ?? Date.now() + limitMs);
  },
};

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
    const deadline = Date.now() + limitMs;
    currentDeadline = deadline;
    try {
      return track(Promise.resolve(handler(req, info)), deadline);
    } finally {
      currentDeadline = null;
    }
  });
};

await import(new URL(entry, `file://${Deno.cwd()}/`).href);
