/**
 * The HTTP side of the stack's pg_net: takes committed requests from net.http_request_queue,
 * sends them, and records each outcome in net._http_response, as Supabase's pg_net worker
 * does. It is woken by NOTIFY at commit (no polling delay); a slow sweep covers a wake-up
 * missed while reconnecting. Responses older than pg_net.ttl (default 6 hours) are deleted.
 */
import type { GatewayContext } from "./gateway/context.ts";

const BATCH_SIZE = 200;
const SWEEP_MS = 2000;
const TTL_SWEEP_MS = 60_000;

interface QueuedRequest {
  id: string;
  method: "GET" | "POST" | "DELETE";
  url: string;
  headers: Record<string, string>;
  body: Uint8Array | null;
  timeout_milliseconds: number;
}

interface Outcome {
  id: string;
  status_code: number | null;
  content_type: string | null;
  headers: Record<string, string> | null;
  content: string | null;
  timed_out: boolean;
  error_msg: string | null;
}

export interface NetWorker {
  close(): Promise<void>;
  /** Requests sent so far (for tests and benchmarks). */
  readonly sent: number;
}

async function send(req: QueuedRequest): Promise<Outcome> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), req.timeout_milliseconds);
  try {
    const res = await fetch(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body && req.method !== "GET" ? new Uint8Array(req.body) : undefined,
      signal: controller.signal,
    });
    const content = await res.text();
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => (headers[k] = v));
    return {
      id: req.id,
      status_code: res.status,
      content_type: res.headers.get("content-type"),
      headers,
      content,
      timed_out: false,
      error_msg: null,
    };
  } catch (e) {
    const timedOut = controller.signal.aborted;
    return {
      id: req.id,
      status_code: null,
      content_type: null,
      headers: null,
      content: null,
      timed_out: timedOut,
      error_msg: timedOut
        ? `Timeout of ${req.timeout_milliseconds} ms reached`
        : `Couldn't connect to server: ${(e as Error).message}`,
    };
  } finally {
    clearTimeout(timer);
  }
}

export async function startNetWorker(ctx: GatewayContext): Promise<NetWorker> {
  const sql = ctx.admin;
  let running = false;
  let again = false;
  let closed = false;
  let sent = 0;
  const inFlight = new Set<Promise<void>>();

  async function record(outcome: Outcome) {
    await sql`
      insert into net._http_response (id, status_code, content_type, headers, content, timed_out, error_msg)
      values (${outcome.id}, ${outcome.status_code}, ${outcome.content_type},
              ${outcome.headers ? sql.json(outcome.headers) : null}, ${outcome.content},
              ${outcome.timed_out}, ${outcome.error_msg})`;
  }

  async function drain() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        const batch = await sql<QueuedRequest[]>`
          delete from net.http_request_queue
          where id in (
            select id from net.http_request_queue order by id limit ${BATCH_SIZE} for update skip locked
          )
          returning id, method, url, headers, body, timeout_milliseconds`;
        for (const req of batch.sort((a, b) => Number(a.id) - Number(b.id))) {
          const p = send(req).then(record).catch((e) =>
            console.error(
              JSON.stringify({
                msg: "pg_net worker failed to record",
                id: req.id,
                error: String(e),
              }),
            )
          ).finally(() => inFlight.delete(p));
          inFlight.add(p);
          sent++;
        }
        if (batch.length === BATCH_SIZE) again = true;
      } while (again && !closed);
    } catch (e) {
      if (!closed) {
        console.error(JSON.stringify({ msg: "pg_net worker drain failed", error: String(e) }));
      }
    } finally {
      running = false;
    }
  }

  const listener = await sql.listen("pg_net_wake", () => void drain(), () => void drain());
  const sweep = setInterval(() => void drain(), SWEEP_MS);
  const ttlSweep = setInterval(() => {
    sql`delete from net._http_response
        where created < now() - coalesce(nullif(current_setting('pg_net.ttl', true), ''), '6 hours')::interval`
      .catch(() => {});
  }, TTL_SWEEP_MS);

  return {
    get sent() {
      return sent;
    },
    async close() {
      closed = true;
      clearInterval(sweep);
      clearInterval(ttlSweep);
      await listener.unlisten().catch(() => {});
      await Promise.allSettled([...inFlight]);
    },
  };
}
