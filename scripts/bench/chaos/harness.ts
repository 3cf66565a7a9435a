/**
 * What every chaos case shares: the stack it breaks (its own, in .stack-chaos), the scriptable
 * provider fake the functions talk to, users, faster engine timings, a tick loop standing in for
 * pg_cron's minute, and the end-of-case invariants (every job terminal, failures with their
 * friendly message, no task left open, one output per language and format, events recorded).
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import type postgres from "postgres";
import type { FakeServer } from "../../tests/fakes/fake_server.ts";
import type { StackConfig } from "../../stack/config.ts";
import { signedInClient } from "../../tests/support/stack_env.ts";
import { assert, type JobRow, submitWav } from "../../tests/support/submissions.ts";

export interface ChaosContext {
  config: StackConfig;
  sql: postgres.Sql;
  fake: FakeServer;
  /** Jobs of the case, submitted through `submit`. */
  log(message: string): void;
}

/** One row of the closing table. */
export interface CaseResult {
  submitted: number;
  accepted: number;
  refused: number;
  completed: number;
  failed: number;
  peakActive?: number;
  /** Seconds from the end of the fault to the system working again. */
  recoverySeconds?: number;
  notes: string;
}

export interface ChaosCase {
  name: string;
  run(ctx: ChaosContext): Promise<CaseResult>;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function newUser(): Promise<{ client: SupabaseClient; id: string }> {
  const { client, userId } = await signedInClient();
  return { client, id: userId };
}

/** Submits a silent WAV of `seconds` (the fake transcribes by duration). */
export function submitRecording(
  user: { client: SupabaseClient; id: string },
  wav: Uint8Array,
  options: Record<string, unknown> = {},
): Promise<JobRow> {
  return submitWav(user.client, user.id, wav, options);
}

/**
 * What must hold after every case: each job ended; a failed one carries its code's friendly
 * message; no task of it is still open; a completed one has exactly srt, vtt and json per
 * language; and its events tell the story (returned, so a case can look for its fault).
 */
export async function checkInvariants(
  sql: postgres.Sql,
  ids: string[],
): Promise<
  {
    completed: number;
    failed: number;
    events: { job_id: string; kind: string; detail: Record<string, unknown> }[];
  }
> {
  const jobs = await sql<JobRow[]>`select * from public.jobs where id = any(${ids}::uuid[])`;
  let completed = 0;
  let failed = 0;
  for (const job of jobs) {
    assert(
      ["completed", "failed", "cancelled"].includes(job.status),
      `job ${job.id} is ${job.status}`,
    );
    if (job.status === "completed") completed++;
    if (job.status === "failed") {
      failed++;
      const [{ message }] = await sql`select private.error_message(${job.error_code}) as message`;
      assert(
        job.error_code && job.error_message === message,
        `job ${job.id}: "${job.error_message}"`,
      );
    }
  }
  const open = await sql`select t.job_id, t.step, t.status from private.tasks t
    where t.job_id = any(${ids}::uuid[]) and t.status in ('pending', 'dispatched', 'running')`;
  assert(open.length === 0, `tasks left open: ${JSON.stringify(open)}`);
  const outputs = await sql<{ job_id: string; n: number; formats: string }[]>`
    select j.id as job_id, count(o.id)::int as n,
      coalesce(string_agg(o.language || '/' || o.format, ',' order by o.language, o.format), '')
        as formats
    from public.jobs j left join public.job_outputs o on o.job_id = j.id
    where j.id = any(${ids}::uuid[]) and j.status = 'completed' group by j.id`;
  for (const o of outputs) {
    assert(o.n === 5, `job ${o.job_id} has outputs ${o.formats}`); // srt vtt ttml txt json
  }
  const events = await sql<{ job_id: string; kind: string; detail: Record<string, unknown> }[]>`
    select job_id, kind, detail from private.events where job_id = any(${ids}::uuid[]) order by id`;
  for (const id of ids) {
    assert(events.some((e) => e.job_id === id), `job ${id} has no events`);
  }
  return { completed, failed, events };
}

/** Runs `public.tick()` every `intervalMs` (pg_cron's minute, shortened) until stopped. */
export function startTicker(sql: postgres.Sql, intervalMs = 1000): { stop(): Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await sql`select public.tick()`.catch(() => {});
      await sleep(intervalMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** Samples the number of active jobs until stopped; returns the peak. */
export function sampleActive(sql: postgres.Sql, intervalMs = 25) {
  let stopped = false;
  let peak = 0;
  let samples = 0;
  const loop = (async () => {
    while (!stopped) {
      const [{ n }] = await sql`select count(*)::int as n from public.jobs
        where status in ('pending', 'processing')`.catch(() => [{ n: 0 }]);
      peak = Math.max(peak, n);
      samples++;
      await sleep(intervalMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { peak, samples };
    },
  };
}
