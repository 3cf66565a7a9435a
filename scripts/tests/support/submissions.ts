/**
 * What the security, bad-input and chaos suites do as a user would: upload media to the private
 * `media` bucket, insert a job row, wait for it to end, read PostgREST errors. Everything goes
 * through supabase-js; only assertions about what the database holds use SQL.
 */
import { ok as assert } from "node:assert/strict";
export { assert };
import type { PostgrestError } from "@supabase/supabase-js";
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

/** Polls the job row (as its owner) until it is terminal. */
export async function waitForJob(
  client: Client,
  id: string,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<JobRow> {
  const deadline = Date.now() + timeoutMs;
  let last: JobRow | null = null;
  while (Date.now() < deadline) {
    const { data, error } = await client.from("jobs").select("*").eq("id", id).maybeSingle();
    if (error) throw new Error(`reading job ${id}: ${error.message}`);
    last = data as JobRow | null;
    if (!last) throw new Error(`job ${id} is not visible to this client`);
    if ((TERMINAL as readonly string[]).includes(last.status)) return last;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`job ${id} did not end in ${timeoutMs} ms: ${JSON.stringify(last)}`);
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
