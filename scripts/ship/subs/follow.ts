/**
 * Follows one job to its end through Realtime (the private topic `job:<id>`, fed by Broadcast
 * from Database, as the web app's drawer): no polling while connected. The row is read once
 * after each (re)subscription, so nothing is missed between the insert and the subscription;
 * the checklist (job_steps) and the estimate (estimate_job) are read when the stage changes.
 */
import type { Client } from "./config.ts";
import type { Display, JobView, StepLine } from "./display.ts";
import { fromApiError } from "./errors.ts";

const TERMINAL = new Set(["completed", "failed", "cancelled"]);
const COLUMNS = "id,status,progress,stage,stage_message,error_code,error_message";

export async function readJob(client: Client, id: string): Promise<JobView | null> {
  const { data, error } = await client.from("jobs").select(COLUMNS).eq("id", id).maybeSingle();
  if (error) throw fromApiError(error);
  return data;
}

/** Resolves with the job's last row once it is completed, failed or cancelled. */
export async function followJob(client: Client, id: string, display: Display): Promise<JobView> {
  await client.realtime.setAuth();
  let lastStage: string | null | undefined;
  let steps: StepLine[] | null = null;
  let eta: number | null = null;
  let lastExtras = 0;
  let settle!: (job: JobView) => void;
  let fail!: (error: unknown) => void;
  const ended = new Promise<JobView>((resolve, reject) => ((settle = resolve), (fail = reject)));

  const extras = async (job: JobView) => {
    const now = Date.now();
    if (job.stage === lastStage && now - lastExtras < 5000 && !TERMINAL.has(job.status)) return;
    lastStage = job.stage;
    lastExtras = now;
    const [s, e] = await Promise.all([
      client.rpc("job_steps", { job_id: id }),
      client.rpc("estimate_job", { job_id: id }),
    ]);
    if (!s.error) steps = s.data as unknown as StepLine[];
    if (!e.error) {
      eta = (e.data as { seconds_remaining?: number | null } | null)?.seconds_remaining ?? null;
    }
  };
  const show = async (job: JobView | null) => {
    if (!job) {
      return fail(
        fromApiError({
          hint: "not_found",
          message: "This job does not exist or you cannot see it.",
        }),
      );
    }
    await extras(job).catch(() => {});
    display.job(job, steps, eta);
    if (TERMINAL.has(job.status)) settle(job);
  };
  const channel = client.channel(`job:${id}`, { config: { private: true } })
    .on("broadcast", { event: "*" }, (message) => {
      const record = (message.payload as { record?: JobView | null })?.record;
      if (record && record.id === id) void show(record);
    })
    .subscribe((status) => {
      if (status === "SUBSCRIBED") readJob(client, id).then(show, fail);
    });
  try {
    return await ended;
  } finally {
    await client.removeChannel(channel);
  }
}
