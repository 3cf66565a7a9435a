/**
 * Submitting a recording: duration, SHA-256, queue check, upload of the single chunk and its
 * manifest, then the job row. Files longer than one chunk need audio extraction in the
 * browser, which this first cut does not do.
 */
import { supabase } from "./supabase.ts";

/** Longest recording uploaded as one chunk (the engine's chunk length). */
export const MAX_SINGLE_CHUNK_SECONDS = 600;
const HASH_SLICE_BYTES = 8 * 1024 * 1024;

export type UploadProgress = (step: string, percent: number) => void;

export class UploadRefused extends Error {}

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
export async function sha256Of(file: File, onProgress: (fraction: number) => void): Promise<string> {
  // Loaded on demand: hashing is only needed once a file is chosen.
  const { createSHA256 } = await import("hash-wasm");
  const hasher = await createSHA256();
  hasher.init();
  for (let offset = 0; offset < file.size; offset += HASH_SLICE_BYTES) {
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

/** Uploads `file` and inserts its job; returns the job id. Throws with a user-facing message. */
export async function submitRecording(
  file: File,
  userId: string,
  options: { language: string },
  onProgress: UploadProgress,
): Promise<string> {
  if (!file.type.startsWith("audio/") && !file.type.startsWith("video/")) {
    throw new UploadRefused("Please choose an audio or video file.");
  }
  onProgress("Reading the recording", 0);
  const duration = await readDuration(file);
  if (duration > MAX_SINGLE_CHUNK_SECONDS) {
    throw new UploadRefused(
      `This recording is ${Math.round(duration / 60)} minutes long. Recordings longer than ` +
        "10 minutes need audio extraction in the browser, which is not available yet.",
    );
  }

  const sha256 = await sha256Of(file, (f) => onProgress("Checking the file", Math.round(f * 100)));

  const { data: queue, error: queueError } = await supabase.rpc("queue_status");
  if (queueError) throw queueError;
  if (queue && queue.accepting === false) {
    throw new UploadRefused(queue.message ?? "The system is busy; try again in a few minutes.");
  }

  const folder = `${userId}/${crypto.randomUUID()}`;
  const chunkPath = `${folder}/chunk-000.${extensionOf(file)}`;
  onProgress("Uploading", 0);
  const { error: chunkError } = await supabase.storage.from("media").upload(chunkPath, file, {
    contentType: file.type,
    upsert: false,
  });
  if (chunkError) throw chunkError;
  onProgress("Uploading", 100);

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

  const { data: job, error: insertError } = await supabase.from("jobs").insert({
    filename: file.name,
    media: { path: manifestPath, bytes: file.size, sha256, duration },
    options: { language: options.language },
  }).select("id").single();
  if (insertError) throw insertError;
  return job.id as string;
}
