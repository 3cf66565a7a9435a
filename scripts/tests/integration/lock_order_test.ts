/**
 * Lock order: a user cancelling a job while a step function claims one of its tasks must never
 * deadlock. The user's RPC locks the job, then its tasks; the worker's entry points take the
 * job's lock before the task's, so one simply waits for the other. Driven step by step with two
 * connections, so the interleaving that used to deadlock happens every time.
 */
import { adminSql, signedInClient } from "../support/stack_env.ts";
import { assert, randomSha256, submit } from "../support/submissions.ts";

Deno.test("cancel racing a claim of the same job waits instead of deadlocking", async () => {
  const { client, userId } = await signedInClient();
  const user = adminSql();
  const worker = adminSql();
  try {
    const { job, error } = await submit(client, {
      filename: "race.wav",
      media: {
        path: `${userId}/${crypto.randomUUID()}/race.wav`,
        bytes: 10,
        sha256: randomSha256(),
      },
    });
    assert(job, `submit: ${error?.message}`);
    const claims = JSON.stringify({ sub: userId, role: "authenticated" });
    // Whatever the real prepare function did so far (the media does not exist, so it may
    // already have failed the job), make the job live and its task claimable again; a late
    // answer of that function finds its lease gone and changes nothing.
    await worker`update private.tasks set status = 'dispatched', not_before = null, lease = null
                 where job_id = ${job.id}`;
    await worker`update public.jobs set status = 'processing', error_code = null,
                   error_message = null, completed_at = null
                 where id = ${job.id}`;
    const [task] = await worker`select id from private.tasks where job_id = ${job.id} limit 1`;
    let claim: Promise<{ claim: unknown }[]> | undefined;
    const [row] = await user.begin(async (tx) => {
      // Hold the job as cancel_job's first statement (own_job) does...
      await tx`select id from public.jobs where id = ${job.id} for update`;
      // ...while the worker's claim arrives and has to wait on a lock...
      const pending = Promise.resolve(
        worker<{ claim: unknown }[]>`select public.claim_task(${task.id}) as claim`,
      );
      pending.catch(() => {});
      claim = pending;
      await new Promise((r) => setTimeout(r, 300));
      // ...then cancel as the user: with the claim holding the task, this was a deadlock.
      await tx`select set_config('request.jwt.claims', ${claims}, true),
                      set_config('role', 'authenticated', true)`;
      return await tx`select status from public.cancel_job(${job.id})`;
    });
    assert(row.status === "cancelled", `cancel answered ${row.status}`);
    const [{ claim: got }] = await claim!;
    assert(got === null, "a task of a cancelled job was claimed");
  } finally {
    await user.end();
    await worker.end();
  }
});
