/**
 * peers: the Postgres job queues a user would pick instead of this engine, measured in the same
 * run, on the same machine and the same Postgres cluster (the bench stack's database, each in a
 * schema of its own, dropped afterwards), each with a no-op handler:
 *
 * - graphile-worker (npm `graphile-worker`): LISTEN/NOTIFY on insert, workers in this process;
 * - pg-boss (npm `pg-boss`) with its LISTEN/NOTIFY wake-up turned on (`useListenNotify`, queue
 *   `notify: true`; without it a worker waits for its poll, at least 500 ms), batches of up to
 *   10 fetched back to back while they come back full (`burstWhenBatchFull`), polling at its
 *   0.5 s minimum (with batches of 1 and the default 30 s poll under NOTIFY, a bulk insert of
 *   500 jobs took minutes).
 *
 * Both get the engine's global parallelism (private.settings.global_parallelism) as their
 * concurrency. Their paths are in-process: the handler is a function call inside the worker
 * process that fetched the job; ours crosses an HTTP hop (pg_net → gateway → the step
 * function's process → claim_task on that process's own Postgres connection).
 *
 * - peer_<name>_start_p50_ms / _p95_ms: enqueue call → handler start, one job at a time (the
 *   next enqueued after the handler started), in this process's clock. It includes the
 *   enqueue's own round trip, which our dispatch_p50_ms (starting at the inserting
 *   transaction's now()) does not, so the ratio does not flatter us.
 * - peer_<name>_step_p50_ms: a chain of no-op jobs where each handler enqueues the next; per
 *   step = next handler start − this handler start (what our step_overhead_p50_ms is for a
 *   step that does nothing: finish, plan the next step, dispatch it, start it).
 * - peer_<name>_tasks_per_s: N no-op jobs enqueued at once (one bulk insert); first enqueue →
 *   the N-th handler returned.
 */
import {
  Logger as GraphileLogger,
  makeWorkerUtils,
  run as runGraphileWorker,
} from "graphile-worker";
import { PgBoss } from "pg-boss";
import { adminSql } from "../tests/support/stack_env.ts";
import { percentile, round, RunFigures } from "./statistics.ts";
import type { BenchContext, BenchSuite } from "./suite.ts";

/** A started peer: enqueue one or many no-op jobs; `onStart`/`onDone` see each handler run. */
interface Peer {
  enqueue(payload: { id: string; chain?: number }): Promise<void>;
  enqueueMany(payloads: { id: string }[]): Promise<void>;
  stop(): Promise<void>;
}

type Hooks = {
  /** Called first thing in the handler, with the job's payload. */
  onStart(payload: { id: string; chain?: number }): Promise<void> | void;
  onDone(payload: { id: string }): void;
};

const silentGraphile = new GraphileLogger(() => () => {});

async function startGraphileWorker(url: string, concurrency: number, hooks: Hooks) {
  const runner = await runGraphileWorker({
    connectionString: url,
    schema: "bench_graphile_worker",
    concurrency,
    maxPoolSize: concurrency + 2,
    noHandleSignals: true,
    pollInterval: 2000,
    logger: silentGraphile,
    taskList: {
      noop: async (payload) => {
        const p = payload as { id: string; chain?: number };
        await hooks.onStart(p);
        hooks.onDone(p);
      },
    },
  });
  // Jobs are added the way an application would, from its own pool (WorkerUtils).
  const utils = await makeWorkerUtils({
    connectionString: url,
    schema: "bench_graphile_worker",
    logger: silentGraphile,
  });
  const peer: Peer = {
    enqueue: async (payload) => void (await utils.addJob("noop", payload)),
    enqueueMany: async (payloads) =>
      void (await utils.addJobs(payloads.map((payload) => ({ identifier: "noop", payload })))),
    stop: async () => {
      await runner.stop();
      await utils.release();
    },
  };
  return peer;
}

async function startPgBoss(url: string, concurrency: number, hooks: Hooks) {
  const boss = new PgBoss({
    connectionString: url,
    schema: "bench_pg_boss",
    max: concurrency + 4,
    useListenNotify: true,
    schedule: false,
    supervise: false,
  });
  boss.on("error", () => {});
  await boss.start();
  await boss.createQueue("noop", { notify: true });
  await boss.work<{ id: string; chain?: number }>(
    "noop",
    // Its fastest documented settings: NOTIFY wakes a worker for a new job; polls at the
    // 0.5 s minimum otherwise; a full batch is followed by the next fetch at once.
    {
      localConcurrency: concurrency,
      batchSize: 10,
      burstWhenBatchFull: true,
      pollingIntervalSeconds: 0.5,
      notifyPollingIntervalSeconds: 0.5,
    },
    async (jobs) => {
      for (const job of jobs) {
        await hooks.onStart(job.data);
        hooks.onDone(job.data);
      }
    },
  );
  const peer: Peer = {
    enqueue: async (payload) => void (await boss.send("noop", payload)),
    enqueueMany: async (payloads) =>
      void (await boss.insert("noop", payloads.map((data) => ({ data })))),
    stop: () => boss.stop({ graceful: false, timeout: 5000 }),
  };
  return peer;
}

const PEERS = [
  { name: "graphile_worker", label: "graphile-worker 0.18.0", start: startGraphileWorker },
  { name: "pg_boss", label: "pg-boss 12.38.0", start: startPgBoss },
] as const;

/** Waits for `predicate` with a deadline (the peers' handlers resolve it). */
function waiter() {
  const waiting = new Map<string, (t: number) => void>();
  return {
    wait(id: string, timeoutMs = 10_000): Promise<number> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`job ${id}: no handler ran`)), timeoutMs);
        waiting.set(id, (t) => {
          clearTimeout(timer);
          resolve(t);
        });
      });
    },
    fire(id: string, t: number) {
      const f = waiting.get(id);
      waiting.delete(id);
      f?.(t);
    },
  };
}

async function measurePeer(
  peerDef: (typeof PEERS)[number],
  url: string,
  concurrency: number,
  ctx: BenchContext,
  runs: RunFigures,
) {
  const started = waiter();
  const allDone = { target: 0, count: 0, resolve: null as null | (() => void), at: 0 };
  const chainStarts = new Map<string, number[]>();
  let peer: Peer | null = null;
  const hooks: Hooks = {
    async onStart(p) {
      const t = performance.now();
      if (p.chain !== undefined) {
        const base = p.id.replace(/-\d+$/, "");
        chainStarts.get(base)!.push(t);
        if (p.chain > 1) await peer!.enqueue({ id: `${base}-${p.chain - 1}`, chain: p.chain - 1 });
        else started.fire(base, t);
        return;
      }
      started.fire(p.id, t);
    },
    onDone(p) {
      if (!p.id.startsWith("bulk-")) return;
      if (++allDone.count === allDone.target) {
        allDone.at = performance.now();
        allDone.resolve?.();
      }
    },
  };
  peer = await peerDef.start(url, concurrency, hooks);
  const samplesPerRun = ctx.quick ? 30 : 100;
  const chainsPerRun = ctx.quick ? 5 : 20;
  const chainLength = 4;
  const bulk = ctx.quick ? 500 : 2000;
  try {
    // Warm-up: connections, prepared statements, JIT.
    for (let i = 0; i < 10; i++) {
      const id = `warm-${i}`;
      const w = started.wait(id);
      await peer.enqueue({ id });
      await w;
    }
    for (let run = 0; run < ctx.runs; run++) {
      const samples: number[] = [];
      for (let i = 0; i < samplesPerRun; i++) {
        const id = `start-${run}-${i}`;
        const w = started.wait(id);
        const t0 = performance.now();
        await peer.enqueue({ id });
        samples.push((await w) - t0);
      }
      runs.add(`peer_${peerDef.name}_start_p50_ms`, percentile(samples, 50));
      runs.add(`peer_${peerDef.name}_start_p95_ms`, percentile(samples, 95));

      const steps: number[] = [];
      for (let i = 0; i < chainsPerRun; i++) {
        const base = `chain-${run}-${i}`;
        chainStarts.set(base, []);
        const w = started.wait(base);
        await peer.enqueue({ id: `${base}-${chainLength}`, chain: chainLength });
        await w;
        const t = chainStarts.get(base)!;
        for (let k = 1; k < t.length; k++) steps.push(t[k] - t[k - 1]);
      }
      runs.add(`peer_${peerDef.name}_step_p50_ms`, percentile(steps, 50));

      allDone.target = bulk;
      allDone.count = 0;
      const done = new Promise<void>((resolve) => (allDone.resolve = resolve));
      const payloads = Array.from({ length: bulk }, (_, i) => ({ id: `bulk-${run}-${i}` }));
      const t0 = performance.now();
      await peer.enqueueMany(payloads);
      const timeout = setTimeout(() => allDone.resolve?.(), 120_000);
      await done;
      clearTimeout(timeout);
      if (allDone.count < bulk) throw new Error(`${peerDef.label}: ${allDone.count}/${bulk} ran`);
      const tps = bulk / ((allDone.at - t0) / 1000);
      runs.add(`peer_${peerDef.name}_tasks_per_s`, tps);
      ctx.log(
        `${peerDef.label} run ${run + 1}: start p50 ${round(percentile(samples, 50))} ms, ` +
          `step p50 ${round(percentile(steps, 50))} ms, ${Math.round(tps)} tasks/s`,
      );
    }
  } finally {
    await peer.stop();
  }
  return { samplesPerRun, chainsPerRun, chainLength, bulk };
}

export const peers: BenchSuite = {
  name: "peers",
  async run(ctx) {
    const sql = adminSql();
    const runs = new RunFigures();
    const notes: string[] = [];
    try {
      const [{ parallelism }] = await sql<{ parallelism: number }[]>`
        select global_parallelism as parallelism from private.settings`;
      await sql.unsafe(`drop schema if exists bench_graphile_worker cascade;
                        drop schema if exists bench_pg_boss cascade`);
      for (const peer of PEERS) {
        try {
          const sizes = await measurePeer(peer, ctx.env.SUPABASE_DB_URL, parallelism, ctx, runs);
          notes.push(
            `${peer.label}: concurrency ${parallelism} (our global_parallelism), no-op handler; ` +
              `${ctx.runs} runs × ${sizes.samplesPerRun} jobs one at a time (start), ` +
              `${sizes.chainsPerRun} chains of ${sizes.chainLength} (step), ${sizes.bulk} jobs ` +
              `in one insert (tasks/s).`,
          );
        } finally {
          await sql.unsafe(`drop schema if exists bench_${peer.name} cascade`);
        }
      }
    } finally {
      await sql.end();
    }
    notes.push(
      "Paths: the peers call a function in the worker process that fetched the job (LISTEN/" +
        "NOTIFY wake-up, a claim query, the handler, a completion query). Ours: the AFTER INSERT " +
        "trigger plans the job and queues an HTTP request with pg_net; at commit the net worker " +
        "POSTs it through the gateway to the step function's own process, which answers 202 and " +
        "claims the task with one SQL call on its own Postgres connection (SUPABASE_DB_URL), " +
        "works, and completes it with another; " +
        "complete_task plans and dispatches the next step in the same transaction. Start times: " +
        "peers from the enqueue call (this process's clock), ours from the inserting " +
        "transaction's now() (database clock).",
    );
    return { ...runs.result(), notes };
  },
};
