/**
 * What stack tests do as a user does with supabase-js: upload media, submit a job, wait for it
 * to end; and, as an operator, read a job's tasks and events with SQL.
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import type postgres from "postgres";

export function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

export interface JobRow {
  id: string;
  status: string;
  progress: number;
  stage: string | null;
  stage_message: string | null;
  error_code: string | null;
  error_message: string | null;
}

export const TERMINAL = ["completed", "failed", "cancelled"];

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Polls the job (as its owner, under RLS) until `done` says so. */
export async function waitForJob(
  client: SupabaseClient,
  id: string,
  done: (job: JobRow) => boolean = (job) => TERMINAL.includes(job.status),
  timeoutMs = 120_000,
): Promise<JobRow> {
  const deadline = Date.now() + timeoutMs;
  let last: JobRow | null = null;
  while (Date.now() < deadline) {
    const { data, error } = await client.from("jobs").select("*").eq("id", id).single();
    if (error) throw new Error(`reading job: ${error.message}`);
    last = data as JobRow;
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`job ${id} did not get there in ${timeoutMs} ms: ${JSON.stringify(last)}`);
}

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

export async function uploadMedia(
  client: SupabaseClient,
  path: string,
  bytes: Uint8Array,
  contentType: string,
): Promise<void> {
  const { error } = await client.storage.from("media").upload(path, bytes, { contentType });
  if (error) throw new Error(`upload ${path}: ${error.message}`);
}

/** Inserts a job as the signed-in user and returns its id. */
export async function submitJob(
  client: SupabaseClient,
  media: { path: string; bytes: number; sha256: string; duration?: number },
  options: Record<string, unknown> = {},
  filename = "recording.mp4",
): Promise<string> {
  const { data, error } = await client.from("jobs").insert({ filename, media, options })
    .select("id").single();
  if (error || !data) throw new Error(`insert failed: ${error?.message}`);
  return data.id as string;
}

/** Uploads chunks plus a manifest (what the web app does) and submits the job. */
export async function submitChunked(
  client: SupabaseClient,
  folder: string,
  chunks: { bytes: Uint8Array; start: number; end: number; overlap_before: number }[],
  options: Record<string, unknown> = {},
  extension = "m4a",
): Promise<string> {
  const planned = [];
  for (const [index, chunk] of chunks.entries()) {
    const path = `${folder}/chunk-${String(index).padStart(3, "0")}.${extension}`;
    await uploadMedia(client, path, chunk.bytes, extension === "wav" ? "audio/wav" : "audio/mp4");
    planned.push({
      index,
      path,
      start: chunk.start,
      end: chunk.end,
      overlap_before: chunk.overlap_before,
    });
  }
  const duration = chunks[chunks.length - 1].end;
  const bytes = chunks.reduce((n, c) => n + c.bytes.length, 0);
  // A per-job unique hash: tests never want a cached result of an earlier run.
  const sha256 = await sha256Hex(new TextEncoder().encode(`${folder}/${crypto.randomUUID()}`));
  const manifest = {
    version: 1,
    source: { filename: "recording.mp4", bytes, sha256, duration },
    chunks: planned,
  };
  const manifestPath = `${folder}/manifest.json`;
  await uploadMedia(
    client,
    manifestPath,
    new TextEncoder().encode(JSON.stringify(manifest)),
    "application/json",
  );
  return await submitJob(client, { path: manifestPath, bytes, sha256, duration }, options);
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
