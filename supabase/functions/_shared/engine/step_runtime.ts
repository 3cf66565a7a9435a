/**
 * What every pipeline step shares: answer pg_net's dispatch with 202 at once and do the work in
 * `EdgeRuntime.waitUntil` (./engine_endpoint.ts, which also checks the caller's secret key);
 * claim the task (a duplicate or late delivery gets nothing and does nothing); heartbeat while
 * working and stop when the job was cancelled; complete or fail through the SQL entry points,
 * which own every state transition. Those four calls go to Postgres directly (./engine_sql.ts);
 * the step's own reads and writes (Storage) use the secret-key client.
 */
import { z } from "zod";
import type { Client } from "./supabase_client.ts";
import {
  type Claim,
  Claim as ClaimSchema,
  ClaimHeader,
  CONTRACT_VERSIONS,
  DispatchBody,
  type StepInput,
  StepIO,
  type StepName,
  type StepOutput,
} from "./contract.ts";
import { classifyFailure } from "./failure.ts";
import { type Logger, logger } from "./log.ts";
import { engineEndpoint } from "./endpoint.ts";
import { serviceClient } from "./supabase_client.ts";
import { defaultEngine, type Engine, type RpcArgs, type StepRpc } from "./sql.ts";

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

/** How long a released task waits before it is dispatched again (functions deploy in minutes). */
const RELEASE_RETRY_MS = 30_000;

/** complete_task's answer: a stale lease or an output the engine refused is not a success. */
const CompleteAnswer = z.object({ ok: z.boolean(), reason: z.string().optional() }).loose();

/** What a task runs with: the engine's entry points, and the client its step works with. */
export interface TaskDeps {
  engine?: Engine;
  supabase?: Client;
}

/** Runs one delivered task to its end; never throws (every outcome is written to SQL). */
export async function runTask<S extends StepName>(
  step: S,
  handler: StepHandler<S>,
  body: DispatchBody,
  deps: TaskDeps = {},
): Promise<"done" | "failed" | "not_claimed" | "cancelled" | "released"> {
  const engine = deps.engine ?? defaultEngine();
  const rpc = <T>(fn: StepRpc, args: RpcArgs<typeof fn>) => engine.call(fn, args) as Promise<T>;
  let log = logger({ step, job_id: body.job_id, task_id: body.task_id });
  // Where a step's time goes, logged with "completed" (the bench's overhead breakdown):
  // received (epoch ms) → claim RPC → handler → complete RPC.
  const receivedAt = performance.timeOrigin + performance.now();
  const t0 = performance.now();
  const raw = await rpc<unknown>("claim_task", { task_id: body.task_id }).catch((e) => {
    log.error("claim failed", { error: String(e) });
    return null;
  });
  if (!raw) {
    log.info("not claimable (duplicate, late or cancelled delivery); nothing to do");
    return "not_claimed";
  }
  // A task of a contract this code does not know (the database is newer than this function):
  // hand it back before reading anything else of it; it is retried later, never failed.
  const header = ClaimHeader.parse(raw);
  if (!CONTRACT_VERSIONS.includes(header.task.contract)) {
    const reason = `contract version ${header.task.contract} unknown to this function (it knows ` +
      `${CONTRACT_VERSIONS.join(", ")}): waiting for the functions of that version`;
    log.error("released", { contract: header.task.contract, reason });
    await rpc("release_task", {
      task_id: header.task.id,
      lease: header.lease,
      reason,
      retry_after_ms: RELEASE_RETRY_MS,
    }).catch((e) =>
      log.error("release_task failed; the cron tick will recover the task", { error: String(e) })
    );
    return "released";
  }
  const claim = ClaimSchema.parse(raw);
  const claimMs = performance.now() - t0;
  log = log.with({ attempt: claim.task.attempt, chunk: claim.task.chunk_index });
  const controller = new AbortController();
  let pending: { fraction: number; message?: string } | null = null;
  let lastFraction = 0;
  const beat = async () => {
    const report = pending ?? { fraction: lastFraction };
    pending = null;
    const answer = await rpc<{ continue: boolean }>("heartbeat_task", {
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
  // The engine's heartbeat_seconds; it calls a task stale after stale_after_seconds of silence.
  const timer = setInterval(() => void beat(), claim.heartbeat_seconds * 1000);
  const started = performance.now();
  try {
    const input = StepIO[step].input.parse(claim.input) as StepInput<S>;
    log.info("started");
    const output = await handler({
      claim,
      input,
      supabase: deps.supabase ?? serviceClient(),
      log,
      signal: controller.signal,
      progress(fraction, message) {
        lastFraction = Math.max(0, Math.min(1, fraction));
        pending = { fraction: lastFraction, message };
      },
    });
    controller.signal.throwIfAborted();
    const handlerMs = performance.now() - started;
    const checked = StepIO[step].output.parse(output);
    const t2 = performance.now();
    const answer = CompleteAnswer.parse(
      await rpc("complete_task", {
        task_id: claim.task.id,
        lease: claim.lease,
        output: checked,
      }),
    );
    const ms = Math.round(performance.now() - started);
    if (answer.ok) {
      const ms2 = (n: number) => Math.round(n * 100) / 100;
      log.info("completed", {
        ms,
        timings: {
          received_at: ms2(receivedAt),
          claim_ms: ms2(claimMs),
          handler_ms: ms2(handlerMs),
          complete_ms: ms2(performance.now() - t2),
        },
      });
      return "done";
    }
    if (answer.reason === "stale_lease") {
      // The task was given to another delivery or stopped meanwhile: this output is not used.
      log.info("stopped: lease lost before completion; output discarded", { ms });
      return "cancelled";
    }
    log.error("failed", { code: answer.reason, ms });
    return "failed";
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
    await rpc("fail_task", {
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

/** The HTTP face of a step: the engine's secret key only, body validated, 202 at once. */
export function stepHandler<S extends StepName>(step: S, handler: StepHandler<S>) {
  return engineEndpoint({
    name: "step functions",
    body: DispatchBody,
    bodyHint: "body must be {task_id, job_id}",
    run: (body) => runTask(step, handler, body),
    accepted: (body) => ({ accepted: true, task_id: body.task_id }),
  });
}

/** `index.ts` of a step: `serveStep("merge", mergeStep)`. */
export function serveStep<S extends StepName>(step: S, handler: StepHandler<S>): void {
  Deno.serve(stepHandler(step, handler));
}
