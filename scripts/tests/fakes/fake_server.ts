/**
 * What the provider fakes share: a loopback HTTP server on a free port that records every
 * request and answers "model" requests from a script of behaviours (first in, first out),
 * falling back to a deterministic default once the script is used up.
 */

/** What the next model request should get. Every behaviour may add `latencyMs` first. */
export type Behaviour =
  & { latencyMs?: number }
  & (
    /** The deterministic default answer (see deterministic.ts). */
    | { kind: "ok" }
    /** Answer with this object as the model's JSON output (or, for transcription endpoints
     * that are not LLMs, as the response body). */
    | { kind: "payload"; payload: unknown }
    /** Answer with this raw model text, e.g. JSON that does not match the schema. */
    | { kind: "text"; text: string }
    /** HTTP 429 naming the wait: in the body (Gemini's RetryInfo) or the Retry-After header. */
    | { kind: "rate_limited"; retryAfterMs: number; via?: "body" | "header" }
    /** Any HTTP error status with the provider's error body shape. */
    | { kind: "error"; status: number; message: string }
    /** HTTP 200 whose body is not JSON at all. */
    | { kind: "malformed_json" }
    /** The model ran out of output tokens: JSON cut in half, finish reason says so. */
    | { kind: "truncated" }
    /** The model's safety system blocked the answer. */
    | { kind: "refused" }
  );

export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. "/v1beta/models/gemini-2.5-flash:generateContent". */
  path: string;
  headers: Record<string, string>;
  /** Parsed JSON body, when the body was JSON. */
  json?: unknown;
  /** Text fields of a multipart body; files appear as `{filename, type, size}`. */
  form?: Record<string, string | string[] | { filename: string; type: string; size: number }>;
  bodyBytes: number;
  /** Milliseconds since the fake started, when the request arrived. */
  at: number;
}

export interface FakeServer {
  /** Root URL, e.g. "http://127.0.0.1:41234". */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Queue behaviours for the next model requests, in order. */
  script(...behaviours: Behaviour[]): void;
  /** Behaviours not yet used. */
  readonly pending: number;
  close(): Promise<void>;
}

export interface FakeContext {
  /** Aborts when the fake closes; latency waits end with it. */
  signal: AbortSignal;
  /** Next scripted behaviour, or `{kind: "ok"}` with the fake's default latency. */
  nextBehaviour(): Behaviour;
  /** Wait out a behaviour's latency (or the fake's default per-request latency). */
  delay(behaviour: Behaviour): Promise<void>;
}

export type FakeHandler = (
  request: Request,
  recorded: RecordedRequest,
  body: Uint8Array<ArrayBuffer>,
  context: FakeContext,
) => Promise<Response>;

/** Start a loopback server; `handler` speaks the wire protocol. */
export function startFakeServer(
  handler: FakeHandler,
  options: { latencyMs?: number } = {},
): FakeServer {
  const requests: RecordedRequest[] = [];
  const queue: Behaviour[] = [];
  const closing = new AbortController();
  const started = performance.now();

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const body = new Uint8Array(await request.arrayBuffer());
      const url = new URL(request.url);
      const recorded: RecordedRequest = {
        method: request.method,
        path: url.pathname + url.search,
        headers: Object.fromEntries(request.headers),
        bodyBytes: body.byteLength,
        at: performance.now() - started,
      };
      const contentType = request.headers.get("content-type") ?? "";
      if (contentType.includes("application/json")) {
        try {
          recorded.json = JSON.parse(new TextDecoder().decode(body));
        } catch {
          // Recorded as bytes only; the handler decides what a bad body means.
        }
      } else if (contentType.includes("multipart/form-data")) {
        recorded.form = await readForm(contentType, body);
      }
      requests.push(recorded);
      // Not request.signal: Deno aborts it after every successful response too (with a
      // warning); closing the fake is what has to end pending waits.
      const signal = closing.signal;
      const context: FakeContext = {
        signal,
        nextBehaviour: () => queue.shift() ?? { kind: "ok" },
        delay: (behaviour) => wait(behaviour.latencyMs ?? options.latencyMs ?? 0, signal),
      };
      try {
        return await handler(request, recorded, body, context);
      } catch (error) {
        if (signal.aborted) return new Response(null, { status: 499 });
        throw error;
      }
    },
  );

  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    script: (...behaviours) => void queue.push(...behaviours),
    get pending() {
      return queue.length;
    },
    close: async () => {
      closing.abort();
      await server.shutdown();
    },
  };
}

export function jsonResponse(
  body: unknown,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

async function readForm(
  contentType: string,
  body: Uint8Array<ArrayBuffer>,
): Promise<NonNullable<RecordedRequest["form"]>> {
  const form = await new Response(body, { headers: { "content-type": contentType } }).formData();
  const fields: NonNullable<RecordedRequest["form"]> = {};
  for (const [key, value] of form) {
    const entry = typeof value === "string"
      ? value
      : { filename: value.name, type: value.type, size: value.size };
    const existing = fields[key];
    if (existing === undefined) fields[key] = entry;
    else if (Array.isArray(existing) && typeof entry === "string") existing.push(entry);
    else if (typeof existing === "string" && typeof entry === "string") {
      fields[key] = [existing, entry];
    }
  }
  return fields;
}

function wait(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
