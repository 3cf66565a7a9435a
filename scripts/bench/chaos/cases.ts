/**
 * The faults `deno task chaos` injects, one case each, every one ending with the harness's
 * invariants: provider failures (429 with a delay, 500, timeout, malformed JSON, truncated
 * output, a provider that never recovers), the same dispatch delivered several times, a step
 * function killed mid-task, pg_net's target refusing connections for two minutes, Postgres
 * restarted mid-pipeline, the clock past retention, and 1,000 submissions from 100 users at once.
 */
import type { RealtimeChannel } from "@supabase/supabase-js";
import type { Behaviour } from "../../tests/fakes/fake_server.ts";
import { makeWav } from "../../tests/fakes/deterministic.ts";
import { join } from "node:path";
import { startPostgres, stopPostgres } from "../../stack/postgres.ts";
import { upsertVaultSecretSql } from "../../lib/vault_secrets.ts";
import { functionPid } from "../../tests/support/function_processes.ts";
import { stackEnv } from "../../tests/support/stack_env.ts";
import {
  assert,
  type JobRow,
  randomSha256,
  submit,
  upload,
  waitForJobs,
} from "../../tests/support/submissions.ts";
import {
  type CaseResult,
  type ChaosCase,
  checkInvariants,
  newUser,
  sampleActive,
  sleep,
  submitRecording,
} from "./harness.ts";
import { eventually } from "../../tests/support/jobs.ts";

const SHORT = makeWav(12);
const seconds = (ms: number) => Math.round(ms / 100) / 10;

/** One job per scripted provider behaviour, one after the other (the script is a queue). */
const providerFaults: ChaosCase = {
  name: "provider: 429 with delay, 500, timeout, malformed JSON, truncated, never recovers",
  async run(ctx) {
    const user = await newUser();
    // A short 429 is waited out inside the provider call (transport.ts); one longer than the
    // in-process budget (30 s) goes back to the engine as a retry not before the named delay.
    const scenarios: {
      name: string;
      script: Behaviour[];
      code: string | null;
      waitMs?: number;
      ends: string;
    }[] = [
      {
        name: "429 3s",
        script: [{ kind: "rate_limited", retryAfterMs: 3000 }],
        code: null,
        waitMs: 3000,
        ends: "completed",
      },
      {
        name: "429 35s",
        script: [{ kind: "rate_limited", retryAfterMs: 35_000 }],
        code: "rate_limited",
        waitMs: 35_000,
        ends: "completed",
      },
      {
        name: "500",
        script: [{ kind: "error", status: 500, message: "boom" }],
        code: "provider_unavailable",
        ends: "completed",
      },
      {
        name: "timeout",
        script: [{ kind: "ok", latencyMs: 6000 }],
        code: "provider_timeout",
        ends: "completed",
      },
      {
        name: "malformed JSON",
        script: [{ kind: "malformed_json" }],
        code: "malformed_output",
        ends: "completed",
      },
      {
        name: "truncated",
        script: [{ kind: "truncated" }],
        code: "malformed_output",
        ends: "completed",
      },
      {
        name: "503 forever",
        script: Array.from(
          { length: 3 },
          () => ({ kind: "error" as const, status: 503, message: "down" }),
        ),
        code: "provider_unavailable",
        ends: "failed",
      },
    ];
    const notes: string[] = [];
    const ids: string[] = [];
    for (const s of scenarios) {
      ctx.fake.script(...s.script);
      const t0 = performance.now();
      const firstRequest = ctx.fake.requests.length;
      const job = await submitRecording(user, SHORT);
      ids.push(job.id);
      const [done] = await waitForJobs(ctx.sql, [job.id], { timeoutMs: 90_000 });
      assert(done.status === s.ends, `${s.name}: ${done.status} ${done.error_code}`);
      if (s.code) {
        const [retry] = await ctx.sql<{ not_before: string; created_at: Date }[]>`
          select detail ->> 'not_before' as not_before, created_at from private.events
          where job_id = ${job.id} and kind = 'task.pending' and detail ->> 'error_code' = ${s.code}
          order by id limit 1`;
        assert(retry, `${s.name}: no event records a ${s.code} retry`);
        if (s.waitMs) {
          const wait = Date.parse(retry.not_before) - retry.created_at.getTime();
          assert(wait >= s.waitMs - 100, `${s.name}: the retry waited only ${wait} ms`);
        }
      } else if (s.waitMs) {
        const calls = ctx.fake.requests.slice(firstRequest);
        assert(calls.length === 2, `${s.name}: ${calls.length} provider calls`);
        const gap = calls[1].at - calls[0].at;
        assert(gap >= s.waitMs - 100, `${s.name}: retried after ${gap} ms`);
      }
      if (s.ends === "failed") {
        assert(done.error_code === "attempts_exhausted", `${s.name}: ${done.error_code}`);
      }
      notes.push(`${s.name}→${done.status} ${seconds(performance.now() - t0)}s`);
    }
    assert(ctx.fake.pending === 0, `${ctx.fake.pending} scripted answers were never asked for`);
    const { completed, failed } = await checkInvariants(ctx.sql, ids);
    return {
      submitted: ids.length,
      accepted: ids.length,
      refused: 0,
      completed,
      failed,
      notes: notes.join("; "),
    };
  },
};

/** pg_net delivering one dispatch several times: one claim, one run, one set of outputs. */
const duplicateDispatch: ChaosCase = {
  name: "the same dispatch delivered 3 times",
  async run(ctx) {
    const user = await newUser();
    const env = stackEnv();
    const before = ctx.fake.requests.length;
    const job = await submitRecording(user, makeWav(1250, 2000));
    const seen = new Set<string>();
    let extra = 0;
    const deliveries: Promise<unknown>[] = [];
    await eventually(
      "the job to end",
      async () => {
        const tasks = await ctx.sql<{ id: string; step: string }[]>`
        select id, step from private.tasks where job_id = ${job.id} and status <> 'pending'`;
        for (const task of tasks.filter((t) => !seen.has(t.id))) {
          seen.add(task.id);
          for (let i = 0; i < 2; i++) {
            extra++;
            deliveries.push(
              fetch(`${env.SUPABASE_URL}/functions/v1/${task.step}`, {
                method: "POST",
                headers: {
                  apikey: env.SUPABASE_SECRET_KEY,
                  "content-type": "application/json",
                },
                body: JSON.stringify({ task_id: task.id, job_id: job.id }),
              }).then((r) => r.body?.cancel()),
            );
          }
        }
        const [row] = await ctx.sql`select status from public.jobs where id = ${job.id}`;
        return ["completed", "failed"].includes(row.status);
      },
      60_000,
      50,
    );
    await Promise.all(deliveries);
    await sleep(1000);
    const tasks = await ctx.sql<{ step: string; attempts: number; claims: number }[]>`
      select t.step, t.attempts, (select count(*)::int from private.events e
        where e.task_id = t.id and e.kind = 'task.running') as claims
      from private.tasks t where t.job_id = ${job.id}`;
    const chunks = tasks.filter((t) => t.step === "transcribe").length;
    assert(chunks === 3, `expected 3 chunks of a 1250 s recording, got ${chunks}`);
    for (const t of tasks) {
      assert(
        t.claims === 1 && t.attempts === 1,
        `${t.step}: ${t.claims} claims, ${t.attempts} attempts`,
      );
    }
    const calls = ctx.fake.requests.length - before;
    assert(calls === chunks, `the provider was called ${calls} times for ${chunks} chunks`);
    const { completed, failed } = await checkInvariants(ctx.sql, [job.id]);
    assert(completed === 1, "the job did not complete");
    return {
      submitted: 1,
      accepted: 1,
      refused: 0,
      completed,
      failed,
      notes:
        `${tasks.length} tasks, ${extra} extra deliveries, each task claimed once, ${calls} provider calls`,
    };
  },
};

/** SIGKILL of the transcribe function's process while it waits on the provider. */
const functionKilled: ChaosCase = {
  name: "a step function's process killed mid-task",
  async run(ctx) {
    const user = await newUser();
    ctx.fake.script({ kind: "ok", latencyMs: 30_000 });
    const job = await submitRecording(user, SHORT);
    await eventually("transcribe to be running", async () => {
      const [t] = await ctx.sql`select 1 from private.tasks
        where job_id = ${job.id} and step = 'transcribe' and status = 'running'`;
      return !!t;
    }, 30_000);
    await sleep(500);
    const pid = await functionPid("transcribe");
    Deno.kill(pid, "SIGKILL");
    const killedAt = performance.now();
    const [done] = await waitForJobs(ctx.sql, [job.id], { timeoutMs: 120_000 });
    const recovery = seconds(performance.now() - killedAt);
    assert(done.status === "completed", `after the kill: ${done.status} ${done.error_code}`);
    const { completed, failed, events } = await checkInvariants(ctx.sql, [job.id]);
    assert(
      events.some((e) => e.kind === "task.pending" && e.detail.error_code === "stale_heartbeat"),
      "no event records the stale heartbeat",
    );
    return {
      submitted: 1,
      accepted: 1,
      refused: 0,
      completed,
      failed,
      recoverySeconds: recovery,
      notes: `killed pid ${pid}; stale_heartbeat → retried → completed`,
    };
  },
};

/**
 * The functions URL in Vault pointing at a closed port for two minutes: the jobs submitted
 * meanwhile wait for the service (no attempt is used up while it cannot be reached) and
 * complete once it is back, without the user doing anything.
 */
const dispatchRefused: ChaosCase = {
  name: "pg_net target refusing connections for 2 minutes",
  async run(ctx) {
    const user = await newUser();
    const env = stackEnv();
    const good = `${env.SUPABASE_URL}/functions/v1`;
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (closed.addr as Deno.NetAddr).port;
    closed.close(); // nobody listens there now: connection refused
    await ctx.sql.unsafe(
      upsertVaultSecretSql("functions_url", `http://127.0.0.1:${port}/functions/v1`),
    );
    const outageStart = performance.now();
    const ids: string[] = [];
    let waiting: JobRow[];
    try {
      for (let i = 0; i < 2; i++) ids.push((await submitRecording(user, SHORT)).id);
      await sleep(120_000 - (performance.now() - outageStart));
      waiting = await ctx.sql<JobRow[]>`select * from public.jobs where id = any(${ids}::uuid[])`;
    } finally {
      await ctx.sql.unsafe(upsertVaultSecretSql("functions_url", good));
    }
    const states = waiting.map((j) => `${j.status} "${j.stage_message}"`).join(", ");
    assert(
      waiting.every((j) => ["pending", "processing"].includes(j.status)),
      `after 2 minutes of outage: ${states}`,
    );
    const restored = performance.now();
    // Each waiting task tries again at most backoff_max_seconds (5 s here) apart; the tick
    // dispatches it once due (pg_cron, every minute).
    const ended = await waitForJobs(ctx.sql, ids, { timeoutMs: 90_000 });
    assert(
      ended.every((j) => j.status === "completed"),
      `after restore: ${ended.map((j) => `${j.status}/${j.error_code ?? "-"}`)}`,
    );
    const recovery = seconds(performance.now() - restored);
    const { completed, failed, events } = await checkInvariants(ctx.sql, ids);
    const refusals = events.filter((e) =>
      e.kind === "task.pending" && e.detail.error_code === "dispatch_failed"
    );
    assert(refusals.length > 0, "no event records the refused dispatches");
    return {
      submitted: 2,
      accepted: 2,
      refused: 0,
      completed,
      failed,
      recoverySeconds: recovery,
      notes: `during the outage: ${states} (${refusals.length} refused dispatches, retried ` +
        `without using up attempts); after: both completed with no retry by the user`,
    };
  },
};

/** Postgres stopped and started while a job is being transcribed. */
const postgresRestart: ChaosCase = {
  name: "Postgres restarted mid-pipeline",
  async run(ctx) {
    const user = await newUser();
    ctx.fake.script({ kind: "ok", latencyMs: 6000 });
    const job = await submitRecording(user, SHORT);
    await eventually("transcribe to be running", async () => {
      const [t] = await ctx.sql`select 1 from private.tasks
        where job_id = ${job.id} and step = 'transcribe' and status = 'running'`;
      return !!t;
    }, 30_000);
    const t0 = performance.now();
    await stopPostgres(ctx.config, "fast");
    await sleep(2000);
    await startPostgres(ctx.config);
    const up = performance.now();
    const downSeconds = seconds(up - t0);
    const [first] = await waitForJobs(ctx.sql, [job.id], { timeoutMs: 120_000 });
    const midJob = `${first.status}/${first.error_code ?? "-"} ${
      seconds(performance.now() - up)
    }s after restart`;

    // Every part of the stack is back: REST and auth (a new user), Storage, pg_net (the new job
    // is dispatched), the functions, and Realtime (its progress arrives on the job topic).
    const other = await newUser();
    const job2 = await submitRecording(other, SHORT);
    const heard: unknown[] = [];
    const channel: RealtimeChannel = other.client.channel(`job:${job2.id}`, {
      config: { private: true },
    });
    channel.on("broadcast", { event: "*" }, (m) => heard.push(m));
    const status = await new Promise<string>((resolve) =>
      channel.subscribe((s) => resolve(s), 10_000)
    );
    assert(status === "SUBSCRIBED", `realtime after the restart: ${status}`);
    const [second] = await waitForJobs(ctx.sql, [job2.id], { timeoutMs: 60_000 });
    await eventually(
      "a realtime message after the restart",
      () => Promise.resolve(heard.length > 0),
      10_000,
    );
    const recovery = seconds(performance.now() - up);
    await other.client.removeAllChannels();
    other.client.realtime.disconnect();
    assert(first.status === "completed", `the job caught by the restart: ${midJob}`);
    assert(second.status === "completed", `a job after the restart: ${second.status}`);
    const { completed, failed } = await checkInvariants(ctx.sql, [job.id, job2.id]);
    return {
      submitted: 2,
      accepted: 2,
      refused: 0,
      completed,
      failed,
      recoverySeconds: recovery,
      notes:
        `down ${downSeconds}s; caught job ${midJob}; new job + ${heard.length} realtime messages after`,
    };
  },
};

/** expires_at in the past: expire_jobs hides the job, stops it and asks for cleanup. */
const pastRetention: ChaosCase = {
  name: "the clock past retention",
  async run(ctx) {
    const user = await newUser();
    const job = await submitRecording(user, SHORT);
    const [done] = await waitForJobs(ctx.sql, [job.id], { timeoutMs: 60_000 });
    assert(done.status === "completed", `setup job ${done.status}`);
    const running = await submitRecording(user, SHORT);
    ctx.fake.script({ kind: "ok", latencyMs: 20_000 });
    await ctx.sql`update public.jobs set expires_at = now() - interval '1 minute'
                  where id in (${job.id}, ${running.id})`;
    const [{ handed }] = await ctx.sql`select public.expire_jobs() as handed`;
    assert(handed >= 2, `expire_jobs handed ${handed}`);
    const visible = await user.client.from("jobs").select("id").in("id", [job.id, running.id]);
    assert(visible.data?.length === 0, "expired jobs are still visible to their owner");
    const outputs = await user.client.from("job_outputs").select("id").eq("job_id", job.id);
    assert(outputs.data?.length === 0, "outputs of an expired job are still readable");
    const hasCleanup = await Deno.stat(join(ctx.config.root, "supabase/functions/cleanup/index.ts"))
      .then(() => true, () => false);
    if (hasCleanup) {
      await eventually("the cleanup function to purge the rows", async () => {
        const rows = await ctx
          .sql`select 1 from public.jobs where id in (${job.id}, ${running.id})`;
        return rows.length === 0;
      }, 60_000).catch(() => null);
    }
    const [row] = await ctx.sql`select deleted_at, status from public.jobs where id = ${job.id}`;
    const purged = !row;
    assert(!hasCleanup || purged, "the cleanup function did not purge the expired jobs in 60 s");
    let objects = -1;
    if (purged) {
      const [{ n }] = await ctx.sql`select count(*)::int as n from storage.objects
        where name like ${user.id + "/%"}`;
      objects = n;
    }
    const { events } = await checkInvariants(ctx.sql, [job.id, running.id]).catch(async (e) => {
      // Purged rows take their outputs along; only the events (which outlive the row) remain.
      if (!purged) throw e;
      return { events: await ctx.sql`select kind from private.events where job_id = ${job.id}` };
    });
    assert(
      events.some((e) => e.kind === "job.deleted" || e.kind === "job.purged"),
      "no event records the expiry",
    );
    const [{ open }] = await ctx.sql`select count(*)::int as open from private.tasks
      where job_id = ${running.id} and status in ('pending', 'dispatched', 'running')`;
    assert(open === 0, "the expired running job still has open tasks");
    return {
      submitted: 2,
      accepted: 2,
      refused: 0,
      completed: 1,
      failed: 0,
      notes:
        `expire_jobs handed ${handed}; hidden at once, running one stopped; cleanup function: ${
          purged
            ? `purged the rows, ${objects} objects left`
            : hasCleanup
            ? "present, but the rows were not purged within 60 s"
            : "not in this branch (rows kept hidden with deleted_at; storage untouched)"
        }`,
    };
  },
};

/** 100 anonymous users submit 10 jobs each, all at once, against the active-job limit. */
function loadCase(limit: number | null): ChaosCase {
  return {
    name: `load: 100 users submit 1,000 jobs at once (active limit ${limit ?? "default"})`,
    async run(ctx) {
      const [cfg] = await ctx.sql`select active_job_limit from private.settings`;
      const jobLimit: number = limit ?? cfg.active_job_limit;
      await ctx.sql`update private.settings set active_job_limit = ${jobLimit}`;
      const log = join(ctx.config.dir, "logs", "postgres.log");
      const logStart = (await Deno.stat(log)).size;
      try {
        const users = await Promise.all(Array.from({ length: 100 }, () => newUser()));
        const wav = makeWav(4);
        const paths = await Promise.all(users.map(async (u) => {
          const path = `${u.id}/${crypto.randomUUID()}/load.wav`;
          await upload(u.client, path, wav, "audio/wav");
          return path;
        }));
        const sampler = sampleActive(ctx.sql);
        const t0 = performance.now();
        const results = await Promise.all(
          users.flatMap((u, i) =>
            Array.from({ length: 10 }, () =>
              submit(u.client, {
                filename: "load.wav",
                media: { path: paths[i], bytes: wav.length, sha256: randomSha256() },
              }))
          ),
        );
        const submitSeconds = seconds(performance.now() - t0);
        const accepted = results.filter((r) => r.job).map((r) => r.job!.id);
        const refusals = results.filter((r) => r.error);
        const wrong = refusals.filter((r) =>
          r.error!.code !== "PT429" || r.error!.hint !== "queue_full" ||
          !r.error!.message.includes("jobs are processing")
        );
        assert(
          wrong.length === 0,
          `${wrong.length} refusals were not queue_full: ${JSON.stringify(wrong[0]?.error)}`,
        );
        await waitForJobs(ctx.sql, accepted, { timeoutMs: 170_000 });
        const { peak, samples } = await sampler.stop();
        const total = seconds(performance.now() - t0);
        assert(peak <= jobLimit, `active jobs peaked at ${peak} > ${jobLimit}`);
        const { completed, failed } = await checkInvariants(ctx.sql, accepted);
        assert(completed === accepted.length, `${failed} accepted jobs failed`);
        const logText = new TextDecoder().decode((await Deno.readFile(log)).subarray(logStart));
        const deadlocks = logText.split("\n").filter((l) => /deadlock/i.test(l));
        assert(
          deadlocks.length === 0,
          `the Postgres log reports deadlocks:\n${deadlocks.join("\n")}`,
        );
        return {
          submitted: results.length,
          accepted: accepted.length,
          refused: refusals.length,
          completed,
          failed,
          peakActive: peak,
          notes:
            `submissions answered in ${submitSeconds}s, all done in ${total}s; ${samples} samples ` +
            `of the active count; all refusals PT429 queue_full; 0 deadlocks in postgres.log`,
        };
      } finally {
        await ctx.sql`update private.settings set active_job_limit = ${cfg.active_job_limit}`;
      }
    },
  };
}

export const CASES: ChaosCase[] = [
  providerFaults,
  duplicateDispatch,
  functionKilled,
  postgresRestart,
  pastRetention,
  loadCase(null),
  loadCase(40),
  dispatchRefused,
];

export type { CaseResult };
