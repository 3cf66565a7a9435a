/**
 * What the security, bad-input and chaos suites do as a user would: upload media to the private
 * `media` bucket, insert a job row, wait for it to end (`waitForJobs`, also the bench's and
 * chaos's), read PostgREST errors. Everything goes
 * through supabase-js; only assertions about what the database holds use SQL.
 */
import { ok as assert } from "node:assert/strict";
export { assert };
import type { PostgrestError } from "@supabase/supabase-js";
import type postgres from "postgres";
import { recordingHashOfBytes } from "../../../web/src/media/recording_hash.ts";
import type { Json, Tables } from "../../../supabase/functions/_shared/database.types.ts";
import type { JobMedia } from "../../../supabase/functions/_shared/engine/contract.ts";
import type { Client } from "./stack_env.ts";

/** The job row as a client reads it: the generated row, its `media` JSON as the engine's. */
export type JobRow = Omit<Tables<"jobs">, "media"> & { media: JobMedia };

export const TERMINAL = ["completed", "failed", "cancelled"] as const;

/** media.sha256 of a recording: the tree hash of web/src/media/recording_hash.ts. */
export function mediaHash(bytes: Uint8Array): Promise<string> {
  return recordingHashOfBytes(bytes as Uint8Array<ArrayBuffer>);
}

/** A random sha256-shaped hex string: a distinct "recording" so deduplication never hits. */
export function randomSha256(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function upload(
  client: Client,
  path: string,
  bytes: Uint8Array,
  contentType: string,
): Promise<void> {
  const { error } = await client.storage.from("media").upload(path, bytes, { contentType });
  if (error) throw new Error(`upload ${path}: ${error.message}`);
}

export interface ManifestChunk {
  index: number;
  path: string;
  start: number;
  end: number;
  overlap_before: number;
}

/** The manifest the web app uploads beside its chunks (supabase/schemas/README.md). */
export function manifestOf(
  source: { filename: string; bytes: number; sha256: string; duration: number },
  chunks: ManifestChunk[],
): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({
    version: 1,
    source,
    audio: { codec: "pcm", container: "wav" },
    chunks,
  }));
}

/** Inserts a job and returns the row, or the PostgREST error. */
export async function submit(
  client: Client,
  row: { filename: string; media: Record<string, unknown>; options?: Record<string, unknown> },
): Promise<{ job: JobRow | null; error: PostgrestError | null }> {
  const { data, error } = await client.from("jobs").insert({
    filename: row.filename,
    // Bad-input tests send shapes the schema refuses; the database is the judge.
    media: row.media as NonNullable<Json>,
    options: (row.options ?? {}) as NonNullable<Json>,
  }).select().single();
  return { job: data as JobRow | null, error };
}

/** Inserts a job that must be accepted and returns its row; throws with the refusal. */
export async function submitAccepted(
  client: Client,
  row: { filename: string; media: Record<string, unknown>; options?: Record<string, unknown> },
): Promise<JobRow> {
  const { job, error } = await submit(client, row);
  if (error || !job) throw new Error(`submit failed: ${error?.code} ${error?.message}`);
  return job;
}

/**
 * Uploads a silent WAV of `seconds` (fake providers transcribe by duration) into a fresh folder
 * of the user and submits it as a single-file job.
 */
export async function submitWav(
  client: Client,
  userId: string,
  wav: Uint8Array,
  options: Record<string, unknown> = {},
  filename = "meeting.wav",
): Promise<JobRow> {
  const path = `${userId}/${crypto.randomUUID()}/${filename.replace(/[^\w.-]/g, "_")}`;
  await upload(client, path, wav, "audio/wav");
  return await submitAccepted(client, {
    filename,
    media: { path, bytes: wav.length, sha256: randomSha256() },
    options,
  });
}

export interface WaitOptions {
  /** Give up after this long (default 60 s), naming the jobs still open. */
  timeoutMs?: number;
  /** Poll interval (default 250 ms; the bench polls every 50 ms since it measures latency). */
  intervalMs?: number;
  /** Throw as soon as one job ends failed or cancelled (the bench: every job must complete). */
  mustComplete?: boolean;
}

/**
 * Waits until every job of `ids` is terminal and returns their rows in the order of `ids`: the
 * one wait-for-job of the tests, the bench and chaos. `reader` is whoever looks: a user's client
 * (RLS decides what it sees, so a job it cannot see is an error at once) or SQL as the database
 * owner (every row; a missing one was never there or is gone, an error too).
 */
export async function waitForJobs(
  reader: Client | postgres.Sql,
  ids: string[],
  { timeoutMs = 60_000, intervalMs = 250, mustComplete = false }: WaitOptions = {},
): Promise<JobRow[]> {
  const read = typeof reader === "function"
    ? () => reader<JobRow[]>`select * from public.jobs where id = any(${ids}::uuid[])`
    : async () => {
      const { data, error } = await reader.from("jobs").select("*").in("id", ids);
      if (error) throw new Error(`reading jobs ${ids.join(", ")}: ${error.message}`);
      return data as JobRow[];
    };
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const rows = await read();
    const byId = new Map(rows.map((r) => [r.id, r]));
    const missing = ids.filter((id) => !byId.has(id));
    if (missing.length) throw new Error(`job ${missing[0]} is not visible to this reader`);
    const ordered = ids.map((id) => byId.get(id)!);
    const ended = (r: JobRow) => (TERMINAL as readonly string[]).includes(r.status);
    const bad = mustComplete && ordered.find((r) => ended(r) && r.status !== "completed");
    if (bad) throw new Error(`job ${bad.id} ended ${bad.status} (${bad.error_code})`);
    const open = ordered.filter((r) => !ended(r));
    if (!open.length) return ordered;
    if (Date.now() >= deadline) {
      throw new Error(
        `${open.length} of ${ids.length} jobs did not end in ${timeoutMs} ms: ` +
          JSON.stringify(open.length === 1 ? open[0] : open.map((r) => [r.id, r.status])),
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** waitForJobs for one job, as its owner or through SQL. */
export async function waitForJob(
  reader: Client | postgres.Sql,
  id: string,
  timeoutMs = 60_000,
): Promise<JobRow> {
  const [row] = await waitForJobs(reader, [id], { timeoutMs });
  return row;
}

/** Asserts a PostgREST error carries the engine's stable code (hint) and SQLSTATE. */
export function assertEngineError(
  error: PostgrestError | null,
  code: string,
  sqlstate: string,
  what: string,
): asserts error is PostgrestError {
  assert(error, `${what}: accepted, expected ${code}`);
  assert(
    error.hint === code && error.code === sqlstate,
    `${what}: got ${error.code}/${error.hint} "${error.message}", expected ${sqlstate}/${code}`,
  );
}
