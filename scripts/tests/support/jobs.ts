/**
 * What stack tests read as an operator: a job's tasks with SQL, and waiting for a condition.
 * What a user does (upload, submit, wait for the job) is in submissions.ts.
 */
import type postgres from "postgres";

/**
 * Polls `probe` every `intervalMs` until it returns something truthy, and returns that; throws
 * after `timeoutMs` with the last value seen. The one polling helper of the stack tests, chaos
 * and bench.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined | null | false;
  do {
    last = await probe();
    if (last) return last;
    await new Promise((r) => setTimeout(r, intervalMs));
  } while (Date.now() < deadline);
  throw new Error(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
}

export interface TaskRow {
  id: string;
  step: string;
  key: string;
  chunk_index: number | null;
  status: string;
  attempts: number;
  claimed_at: Date | null;
  completed_at: Date | null;
  output: unknown;
}

export async function tasksOf(sql: postgres.Sql, jobId: string): Promise<TaskRow[]> {
  return await sql<TaskRow[]>`
    select id, step, key, chunk_index, status, attempts, claimed_at, completed_at, output
    from private.tasks where job_id = ${jobId}
    order by (select position from private.steps s where s.step = tasks.step), chunk_index, key`;
}
