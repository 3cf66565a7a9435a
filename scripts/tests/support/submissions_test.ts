/** waitForJobs, the one wait of tests, bench and chaos, against a scripted reader. */
import type postgres from "postgres";
import { assert, type JobRow, waitForJobs } from "./submissions.ts";

/** A stand-in for postgres.Sql that answers each query with the next list of rows. */
function scriptedSql(answers: Partial<JobRow>[][]): { sql: postgres.Sql; reads: () => number } {
  let n = 0;
  const fn = () => Promise.resolve(answers[Math.min(n++, answers.length - 1)]);
  return { sql: fn as unknown as postgres.Sql, reads: () => n };
}

async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("resolved, expected a rejection");
}

Deno.test("waitForJobs returns the rows in the order asked once every job has ended", async () => {
  const { sql, reads } = scriptedSql([
    [{ id: "a", status: "processing" }, { id: "b", status: "pending" }],
    [{ id: "b", status: "completed" }, { id: "a", status: "processing" }],
    [{ id: "b", status: "completed" }, { id: "a", status: "failed" }],
  ]);
  const rows = await waitForJobs(sql, ["a", "b"], { intervalMs: 1 });
  assert(rows.map((r) => `${r.id}:${r.status}`).join() === "a:failed,b:completed", "rows");
  assert(reads() === 3, `read ${reads()} times`);
});

Deno.test("waitForJobs with mustComplete stops at the first job that did not complete", async () => {
  const { sql, reads } = scriptedSql([
    [{ id: "a", status: "cancelled", error_code: null }, { id: "b", status: "processing" }],
  ]);
  const message = await rejection(waitForJobs(sql, ["a", "b"], { mustComplete: true }));
  assert(message.includes("job a ended cancelled"), message);
  assert(reads() === 1, `read ${reads()} times`);
});

Deno.test("waitForJobs names a job its reader cannot see, at once", async () => {
  const { sql } = scriptedSql([[{ id: "a", status: "processing" }]]);
  const message = await rejection(waitForJobs(sql, ["a", "ghost"], { timeoutMs: 60_000 }));
  assert(message.includes("job ghost is not visible"), message);
});

Deno.test("waitForJobs gives up after its timeout with the job still open", async () => {
  const { sql } = scriptedSql([[{ id: "a", status: "processing", progress: 40 }]]);
  const t0 = Date.now();
  const message = await rejection(waitForJobs(sql, ["a"], { timeoutMs: 100, intervalMs: 10 }));
  assert(Date.now() - t0 >= 100, "gave up early");
  assert(
    message.includes("1 of 1 jobs did not end in 100 ms") && message.includes('"progress":40'),
    message,
  );
});
