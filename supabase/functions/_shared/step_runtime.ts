/**
 * What every pipeline step shares: answer pg_net's dispatch with 202 at once and do the work in
 * `EdgeRuntime.waitUntil`; claim the task (a duplicate or late delivery gets nothing and does
 * nothing); heartbeat while working and stop when the job was cancelled; complete or fail
 * through the SQL entry points, which own every state transition.
 */
import { decodeJwt } from "jose";
import type { Database } from "./database.types.ts";
import type { Client } from "./supabase_client.ts";
import {
  type Claim,
  Claim as ClaimSchema,
  DispatchBody,
  type StepInput,
  StepIO,
  type StepName,
  type StepOutput,
} from "./contract.ts";
import { classifyFailure } from "./failure.ts";
import { type Logger, logger } from "./log.ts";
import { serviceClient } from "./supabase_client.ts";

declare const EdgeRuntime: { waitUntil(promise: Promise<unknown>): void } | undefined;

/** How often a running step reports progress (the engine treats > 90 s of silence as stale). */
export const HEARTBEAT_MS = 5_000;

export interface StepContext<S extends StepName> {
  claim: Claim;
  input: StepInput<S>;
  supabase: Client;
  log: Logger;
  /** Aborted when the job is cancelled or the lease is lost. */
  signal: AbortSignal;
  /** Reports progress within this task (0..1) with a message for the user. */
  progress(fraction: number, message?: string): void;
}

export type StepHandler<S extends StepName> = (ctx: StepContext<S>) => Promise<StepOutput<S>>;

class CancelledError extends Error {}

type StepRpc = "claim_task" | "heartbeat_task" | "complete_task" | "fail_task";
type RpcArgs<F extends StepRpc> = Database["public"]["Functions"][F]["Args"];

async function rpc<T>(
  supabase: Client,
  fn: StepRpc,
  args: RpcArgs<typeof fn>,
): Promise<T> {
  const { data, error } = await supabase.rpc(fn, args);
  if (error) {
    throw new Error(`${fn}: ${error.message}${error.details ? ` (${error.details})` : ""}`);
  }
  return data as T;
}

/** Runs one delivered task to its end; never throws (every outcome is written to SQL). */
export async function runTask<S extends StepName>(
  step: S,
  handler: StepHandler<S>,
  body: DispatchBody,
  supabase: Client = serviceClient(),
): Promise<"done" | "failed" | "not_claimed" | "cancelled"> {
  let log = logger({ step, job_id: body.job_id, task_id: body.task_id });
  const raw = await rpc<unknown>(supabase, "claim_task", { task_id: body.task_id }).catch((e) => {
    log.error("claim failed", { error: String(e) });
    return null;
  });
  if (!raw) {
    log.info("not claimable (duplicate, late or cancelled delivery); nothing to do");
    return "not_claimed";
  }
  const claim = ClaimSchema.parse(raw);
  log = log.with({ attempt: claim.task.attempt, chunk: claim.task.chunk_index });
  const controller = new AbortController();
  let pending: { fraction: number; message?: string } | null = null;
  let lastFraction = 0;
  const beat = async () => {
    const report = pending ?? { fraction: lastFraction };
    pending = null;
    const answer = await rpc<{ continue: boolean }>(supabase, "heartbeat_task", {
      task_id: claim.task.id,
      lease: claim.lease,
      progress: report.fraction,
      message: report.message ?? undefined,
    }).catch((e) => {
      log.error("heartbeat failed", { error: String(e) });
      return { continue: true };
    });
    if (!answer?.continue) controller.abort(new CancelledError("job cancelled or lease lost"));
  };
  const timer = setInterval(() => void beat(), HEARTBEAT_MS);
  const started = performance.now();
  try {
    const input = StepIO[step].input.parse(claim.input) as StepInput<S>;
    log.info("started");
    const output = await handler({
      claim,
      input,
      supabase,
      log,
      signal: controller.signal,
      progress(fraction, message) {
        lastFraction = Math.max(0, Math.min(1, fraction));
        pending = { fraction: lastFraction, message };
      },
    });
    controller.signal.throwIfAborted();
    const checked = StepIO[step].output.parse(output);
    await rpc(supabase, "complete_task", {
      task_id: claim.task.id,
      lease: claim.lease,
      output: checked,
    });
    log.info("completed", { ms: Math.round(performance.now() - started) });
    return "done";
  } catch (error) {
    if (controller.signal.aborted) {
      log.info("stopped: job cancelled or lease lost");
      return "cancelled";
    }
    const failure = classifyFailure(error);
    log.error("failed", {
      code: failure.code,
      retryable: failure.retryable,
      error: failure.message,
    });
    await rpc(supabase, "fail_task", {
      task_id: claim.task.id,
      lease: claim.lease,
      error_code: failure.code,
      message: failure.message,
      retryable: failure.retryable,
      detail: { step, ms: Math.round(performance.now() - started) },
      retry_after_ms: failure.retryAfterMs ?? undefined,
    }).catch((e) =>
      log.error("fail_task failed; the cron tick will recover the task", { error: String(e) })
    );
    return "failed";
  } finally {
    clearInterval(timer);
  }
}

/** Whether the caller presents the service role's JWT (its signature checked by verify_jwt). */
export function isServiceRole(req: Request): boolean {
  const token = req.headers.get("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1];
  if (!token) return false;
  try {
    return decodeJwt(token).role === "service_role";
  } catch {
    return false;
  }
}

/**
 * The HTTP face of a step: service role only (the signature was verified by verify_jwt),
 * body validated, 202 at once, the task run in the background.
 */
export function stepHandler<S extends StepName>(step: S, handler: StepHandler<S>) {
  return async (req: Request): Promise<Response> => {
    if (req.method !== "POST") {
      return Response.json({ error: "method not allowed" }, { status: 405 });
    }
    if (!isServiceRole(req)) {
      return Response.json({ error: "step functions are called by the job engine only" }, {
        status: 403,
      });
    }
    const parsed = DispatchBody.safeParse(await req.json().catch(() => null));
    if (!parsed.success) {
      return Response.json(
        { error: "body must be {task_id, job_id}", issues: parsed.error.issues },
        {
          status: 400,
        },
      );
    }
    const work = runTask(step, handler, parsed.data);
    if (typeof EdgeRuntime !== "undefined") EdgeRuntime.waitUntil(work);
    return Response.json({ accepted: true, task_id: parsed.data.task_id }, { status: 202 });
  };
}

/** `index.ts` of a step: `serveStep("merge", mergeStep)`. */
export function serveStep<S extends StepName>(step: S, handler: StepHandler<S>): void {
  Deno.serve(stepHandler(step, handler));
}
