/**
 * Submitting a recording: queue check, duration, SHA-256, upload of the single chunk and its
 * manifest, then the job row — behind the UploadHandle contract the page codes against.
 *
 * Interim: this is the first cut's single-chunk upload wrapped in the new contract (the media
 * pipeline with audio extraction, chunking and TUS is built separately and replaces this file).
 * Here pause and abort take effect between phases, because the single storage upload cannot be
 * interrupted midway.
 */
import { supabase } from "./supabase.ts";

/** Longest recording uploaded as one chunk (the engine's chunk length). */
export const MAX_SINGLE_CHUNK_SECONDS = 600;
const HASH_SLICE_BYTES = 8 * 1024 * 1024;

/** Mirrors private.normalize_options (050_submit.sql). */
export interface SubmitOptions {
  language?: string;
  force_language?: boolean;
  num_speakers?: number;
  min_speakers?: number;
  max_speakers?: number;
  translate_to?: string[];
  summarize?: boolean;
}
export type SubmitPhase = "queue" | "hashing" | "extracting" | "uploading" | "submitting";
/** Progress of one phase, `fraction` 0..1. */
export interface SubmitProgress {
  phase: SubmitPhase;
  fraction: number;
  detail?: string;
}
export interface SubmitResult {
  jobId: string;
  cachedFrom: string | null;
  cachedAt: string | null;
}
/** A submission in flight. `done` rejects with UploadRefused (user-facing) or Error. */
export interface UploadHandle {
  pause(): void;
  resume(): void;
  abort(): void;
  readonly paused: boolean;
  done: Promise<SubmitResult>;
}

/** A submission the system or the file refused; `message` is for the user, `code` stable. */
export class UploadRefused extends Error {
  code?: string;
  constructor(message: string, code?: string) {
    super(message);
    this.name = "UploadRefused";
    this.code = code;
  }
}

/** Duration in seconds, read by the browser's own media element. */
export function readDuration(file: File): Promise<number> {
  return new Promise((resolve, reject) => {
    const element = document.createElement(file.type.startsWith("video/") ? "video" : "audio");
    const src = URL.createObjectURL(file);
    const done = () => {
      URL.revokeObjectURL(src);
      element.removeAttribute("src");
    };
    element.preload = "metadata";
    element.onloadedmetadata = () => {
      const duration = element.duration;
      done();
      if (Number.isFinite(duration) && duration > 0) resolve(duration);
      else reject(new UploadRefused("The length of this recording could not be read."));
    };
    element.onerror = () => {
      done();
      reject(new UploadRefused("This browser cannot read this file as audio or video."));
    };
    element.src = src;
  });
}

/** Lowercase hex SHA-256 of the file, streamed slice by slice. */
export async function sha256Of(
  file: File,
  onProgress: (fraction: number) => void,
  checkpoint: () => Promise<void> = () => Promise.resolve(),
): Promise<string> {
  // Loaded on demand: hashing is only needed once a file is chosen.
  const { createSHA256 } = await import("hash-wasm");
  const hasher = await createSHA256();
  hasher.init();
  for (let offset = 0; offset < file.size; offset += HASH_SLICE_BYTES) {
    await checkpoint();
    const slice = file.slice(offset, offset + HASH_SLICE_BYTES);
    hasher.update(new Uint8Array(await slice.arrayBuffer()));
    onProgress(Math.min(1, (offset + HASH_SLICE_BYTES) / file.size));
  }
  return hasher.digest("hex");
}

function extensionOf(file: File): string {
  const match = /\.([a-z0-9]{1,8})$/i.exec(file.name);
  return match ? match[1].toLowerCase() : file.type.split("/")[1]?.replace(/[^a-z0-9]/g, "") || "bin";
}

/** A PostgREST error as supabase-js reports it (SQLSTATE PT<status>, hint = stable code). */
function refusalOf(error: { message?: string; hint?: string | null; code?: string }): Error {
  if (error.hint) return new UploadRefused(error.message || "The job was refused.", error.hint);
  return new Error(error.message || "The job could not be submitted.");
}

/** Starts uploading `file` and inserting its job; progress is reported per phase. */
export function submitRecording(
  file: File,
  userId: string,
  options: SubmitOptions,
  onProgress: (p: SubmitProgress) => void,
): UploadHandle {
  let paused = false;
  let aborted = false;
  let wake: () => void = () => {};
  // Every phase boundary (and every hashed slice) waits here while paused.
  const checkpoint = async () => {
    while (paused && !aborted) await new Promise<void>((resolve) => (wake = resolve));
    if (aborted) throw new UploadRefused("The upload was cancelled.", "aborted");
  };
  const done = run(file, userId, options, onProgress, checkpoint);
  return {
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      wake();
    },
    abort() {
      aborted = true;
      wake();
    },
    get paused() {
      return paused;
    },
    done,
  };
}

async function run(
  file: File,
  userId: string,
  options: SubmitOptions,
  onProgress: (p: SubmitProgress) => void,
  checkpoint: () => Promise<void>,
): Promise<SubmitResult> {
  if (!file.type.startsWith("audio/") && !file.type.startsWith("video/")) {
    throw new UploadRefused("Please choose an audio or video file.", "invalid_media");
  }
  onProgress({ phase: "queue", fraction: 0 });
  const { data: queue, error: queueError } = await supabase.rpc("queue_status");
  if (queueError) throw refusalOf(queueError);
  if (queue && queue.accepting === false) {
    throw new UploadRefused(
      queue.message ?? "The system is busy; try again in a few minutes.",
      "queue_full",
    );
  }
  onProgress({ phase: "queue", fraction: 1 });

  const duration = await readDuration(file);
  if (duration > MAX_SINGLE_CHUNK_SECONDS) {
    throw new UploadRefused(
      `This recording is ${Math.round(duration / 60)} minutes long. Recordings longer than ` +
        "10 minutes need audio extraction in the browser, which is not available yet.",
      "media_too_long",
    );
  }

  await checkpoint();
  const sha256 = await sha256Of(file, (fraction) => onProgress({ phase: "hashing", fraction }), checkpoint);

  await checkpoint();
  const folder = `${userId}/${crypto.randomUUID()}`;
  const chunkPath = `${folder}/chunk-000.${extensionOf(file)}`;
  onProgress({ phase: "uploading", fraction: 0, detail: "1 of 1 file" });
  const { error: chunkError } = await supabase.storage.from("media").upload(chunkPath, file, {
    contentType: file.type,
    upsert: false,
  });
  if (chunkError) throw chunkError;
  onProgress({ phase: "uploading", fraction: 1, detail: "1 of 1 file" });

  const source = { filename: file.name, bytes: file.size, sha256, duration };
  const manifest = {
    version: 1,
    source,
    audio: { container: extensionOf(file) },
    chunks: [{ index: 0, path: chunkPath, start: 0, end: duration, overlap_before: 0 }],
  };
  const manifestPath = `${folder}/manifest.json`;
  const { error: manifestError } = await supabase.storage.from("media").upload(
    manifestPath,
    new Blob([JSON.stringify(manifest)], { type: "application/json" }),
    { contentType: "application/json", upsert: false },
  );
  if (manifestError) throw manifestError;

  await checkpoint();
  onProgress({ phase: "submitting", fraction: 0 });
  const { data: job, error: insertError } = await supabase.from("jobs").insert({
    filename: file.name,
    media: { path: manifestPath, bytes: file.size, sha256, duration },
    options,
  }).select("id,cached_from,cached_at").single();
  if (insertError) throw refusalOf(insertError);
  onProgress({ phase: "submitting", fraction: 1 });
  return {
    jobId: job.id as string,
    cachedFrom: (job.cached_from as string | null) ?? null,
    cachedAt: (job.cached_at as string | null) ?? null,
  };
}
