/**
 * What stack tests read as an operator: a job's tasks with SQL, and waiting for a condition.
 * What a user does (upload, submit, wait for the job) is in submissions.ts.
 */
import type postgres from "postgres";

/** Polls `probe` until it returns something truthy. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  do {
    last = await probe();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 200));
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
