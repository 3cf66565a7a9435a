/**
 * realtime: from a change of a job row to a supabase-js subscriber of the job's private
 * channel `job:<id>` (Broadcast from Database: the jobs trigger calls
 * realtime.broadcast_changes; RLS on realtime.messages authorises the owner). The clock
 * starts just before the UPDATE is sent and stops when the subscriber's callback runs, both
 * in this process.
 */
import type { RealtimeChannel } from "@supabase/supabase-js";
import { adminSql } from "../tests/support/stack_env.ts";
import {
  prepareUploads,
  requireProvider,
  submitJob,
  UNTIL_COMPLETED,
  withSettings,
} from "./job_fixtures.ts";
import { waitForJobs } from "../tests/support/submissions.ts";
import { percentile, RunFigures } from "./statistics.ts";
import type { BenchSuite } from "./suite.ts";

export const realtime: BenchSuite = {
  name: "realtime",
  async run(ctx) {
    requireProvider(ctx.provider);
    const sql = adminSql();
    const samplesPerRun = ctx.quick ? 20 : 50;
    const runs = new RunFigures();
    let channel: RealtimeChannel | undefined;
    const uploads = await prepareUploads();
    try {
      const id = await withSettings(
        sql,
        { active_job_limit: 1000, per_user_active_limit: 1000 },
        async () => {
          const id = await submitJob(uploads, 1);
          await waitForJobs(sql, [id], UNTIL_COMPLETED);
          return id;
        },
      );
      const waiting = new Map<string, (at: number) => void>();
      channel = uploads.client.channel(`job:${id}`, { config: { private: true } });
      channel.on("broadcast", { event: "UPDATE" }, (message) => {
        const at = performance.now();
        const marker = (message.payload as { record?: { stage_message?: string } }).record
          ?.stage_message;
        if (marker) waiting.get(marker)?.(at);
      });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("subscribe timed out")), 10_000);
        channel!.subscribe((status, err) => {
          if (status === "SUBSCRIBED") {
            clearTimeout(timer);
            resolve();
          } else if (status !== "CLOSED") {
            clearTimeout(timer);
            reject(new Error(`subscribe ended in ${status}: ${err?.message}`));
          }
        });
      });
      for (let run = -1; run < ctx.runs; run++) {
        const samples: number[] = [];
        for (let i = 0; i < samplesPerRun; i++) {
          const marker = `bench ${run} ${i}`;
          const received = new Promise<number>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`no broadcast for "${marker}"`)), 5000);
            waiting.set(marker, (at) => {
              clearTimeout(timer);
              resolve(at);
            });
          });
          const t0 = performance.now();
          await sql`update public.jobs set stage_message = ${marker} where id = ${id}`;
          samples.push((await received) - t0);
          waiting.delete(marker);
        }
        if (run < 0) continue; // warm-up round
        runs.add("realtime_p50_ms", percentile(samples, 50));
        runs.add("realtime_p95_ms", percentile(samples, 95));
      }
    } finally {
      if (channel) await uploads.client.removeChannel(channel);
      uploads.client.realtime.disconnect();
      await sql.end();
    }
    return {
      ...runs.result(),
      targets: { realtime_p50_ms: "≤ 100 ms" },
      notes: [
        `realtime: ${ctx.runs} runs × ${samplesPerRun} UPDATEs of a job row (stage_message) by ` +
        `a superuser connection, each awaited by the owner's supabase-js client subscribed to ` +
        `the private channel job:<id>; time = UPDATE sent → broadcast callback.`,
      ],
    };
  },
};
