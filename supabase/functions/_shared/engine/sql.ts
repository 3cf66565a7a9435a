/**
 * The step runtime's line to the job engine: the SQL entry points of a step (claim_task,
 * heartbeat_task, complete_task, fail_task, release_task in supabase/schemas/060_step_api.sql) on
 * Postgres itself over SUPABASE_DB_URL, which the platform gives every Edge Function "to
 * connect directly to your database" (https://supabase.com/docs/guides/functions/secrets).
 *
 * Why not PostgREST: each call is one statement that owns its transaction, so the Data API adds
 * nothing but an HTTP round trip through the API gateway and a transaction of its own around
 * it (BEGIN, role and request settings, the call, COMMIT). Here that was about 3.5 ms a call
 * against 0.4 ms for the statement alone, twice per task (claim, complete): the largest part
 * of the engine's per-step overhead (scripts/bench/pipeline.ts prints the breakdown).
 *
 * The connection stays open across the requests a warm worker serves; statements are not
 * prepared (`prepare: false`), so the same code works through Supavisor's transaction mode,
 * which Supabase recommends for serverless functions. Nothing else goes this way: Storage and
 * every other call of a step use the secret-key client (supabase_client.ts).
 */
import postgres from "postgres";
import { z } from "zod";
import type { Database, Json } from "../database.types.ts";

export type StepRpc =
  | "claim_task"
  | "heartbeat_task"
  | "complete_task"
  | "fail_task"
  | "release_task";
export type RpcArgs<F extends StepRpc> = Database["public"]["Functions"][F]["Args"];

/** Calls one entry point and answers its jsonb result; throws `<fn>: <reason>` on failure. */
export interface Engine {
  call<F extends StepRpc>(fn: F, args: RpcArgs<F>): Promise<unknown>;
}

const EngineEnv = z.object({
  SUPABASE_DB_URL: z.string().regex(/^postgres(ql)?:\/\//, "a postgres:// connection string"),
});

type Sql = ReturnType<typeof postgres>;

function statement<F extends StepRpc>(sql: Sql, fn: F, args: RpcArgs<F>) {
  // One statement per entry point, every argument typed, so no overload is ever guessed.
  const a = args as Record<string, unknown>;
  const text = (v: unknown) => (v === undefined ? null : v as string);
  // Passed as a JSON parameter (a string would be encoded once more, into a jsonb string).
  const json = (v: unknown) => (v === undefined || v === null ? null : sql.json(v as Json));
  switch (fn) {
    case "claim_task":
      return sql`select public.claim_task(${text(a.task_id)}::uuid) as result`;
    case "heartbeat_task":
      return sql`select public.heartbeat_task(${text(a.task_id)}::uuid, ${text(a.lease)}::uuid,
        ${a.progress === undefined ? null : Number(a.progress)}::real,
        ${text(a.message)}::text) as result`;
    case "complete_task":
      return sql`select public.complete_task(${text(a.task_id)}::uuid, ${text(a.lease)}::uuid,
        ${json(a.output)}::jsonb) as result`;
    case "fail_task":
      return sql`select public.fail_task(${text(a.task_id)}::uuid, ${text(a.lease)}::uuid,
        ${text(a.error_code)}::text, ${text(a.message)}::text, ${Boolean(a.retryable)}::boolean,
        coalesce(${json(a.detail)}::jsonb, '{}'::jsonb),
        ${a.retry_after_ms === undefined ? null : Number(a.retry_after_ms)}::integer) as result`;
    case "release_task":
      return sql`select public.release_task(${text(a.task_id)}::uuid, ${text(a.lease)}::uuid,
        ${text(a.reason)}::text,
        ${a.retry_after_ms === undefined ? null : Number(a.retry_after_ms)}::integer) as result`;
  }
  throw new Error(`not an engine entry point: ${fn}`);
}

/** The engine over a Postgres connection string (a small pool, opened on first use). */
export function sqlEngine(url: string): Engine {
  const sql = postgres(url, {
    // TLS when the server offers it (a hosted project may enforce it), plain on this machine's
    // stack; a URL that names its own sslmode keeps it.
    ...(new URL(url).searchParams.has("sslmode") ? {} : { ssl: "prefer" as const }),
    max: 2,
    prepare: false,
    idle_timeout: 30,
    connect_timeout: 10,
    fetch_types: false,
    onnotice: () => {},
    connection: { application_name: "ai-subs step" },
  });
  return {
    async call(fn, args) {
      try {
        const [row] = await statement(sql, fn, args);
        return row?.result ?? null;
      } catch (e) {
        throw new Error(`${fn}: ${(e as Error).message}`);
      }
    },
  };
}

let engine: Engine | undefined;

/** The function's engine, from SUPABASE_DB_URL (validated once). */
export function defaultEngine(): Engine {
  engine ??= sqlEngine(EngineEnv.parse(Deno.env.toObject()).SUPABASE_DB_URL);
  return engine;
}
