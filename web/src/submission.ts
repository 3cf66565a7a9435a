/**
 * The order of a submission, apart from the services it runs on (unit-tested in
 * submission_test.ts; upload.ts wires Supabase, the hash worker, extraction and TUS): queue
 * check, recording hash, audio extraction into chunks, the chunks and then a manifest uploaded
 * to a fresh folder `<user>/<upload id>/`, then the job row. Every phase reports progress and
 * obeys pause and abort; a failure after the first upload removes what was uploaded.
 */
import { userMessage } from "./errors.ts";
import { type ExtractedAudio, type ExtractOptions, NoAudioError } from "./media/extract.ts";
import { buildManifest, jobMedia, MANIFEST_NAME, objectPath } from "./media/manifest.ts";
import { isMediaName } from "./media/media_files.ts";
import type { PauseGate } from "./media/pause_gate.ts";

/** Job options; mirrors private.normalize_options (supabase/schemas/050_submit.sql). */
// A type alias, not an interface: it must be assignable to the generated `Json`.
export type SubmitOptions = {
  language?: string;
  force_language?: boolean;
  num_speakers?: number;
  min_speakers?: number;
  max_speakers?: number;
  translate_to?: string[];
  summarize?: boolean;
  caption_style?: CaptionStyleOption;
};

/** A named preset (its numbers are filled in by the server) or custom numbers. */
export type CaptionStyleOption = {
  preset?: string;
  max_line_chars?: number;
  max_lines?: number;
  max_chars_per_second?: number;
};

export type SubmitPhase =
  | "queue"
  | "hashing"
  | "extracting"
  | "uploading"
  | "submitting";

/** `fraction` is the progress of `phase`, 0..1. */
export interface SubmitProgress {
  phase: SubmitPhase;
  fraction: number;
  detail?: string;
}

/** The inserted job; `cachedFrom`/`cachedAt` are set when an earlier identical result was reused. */
export interface SubmitResult {
  jobId: string;
  cachedFrom: string | null;
  cachedAt: string | null;
}

/** The system or the file says no; `message` is for the user, `code` the stable error code. */
export class UploadRefused extends Error {
  code?: string;
  constructor(message: string, code?: string) {
    super(message);
    this.name = "UploadRefused";
    this.code = code;
  }
}

/** The user aborted the submission (UploadHandle.abort). */
export class SubmissionCancelled extends Error {
  constructor() {
    super("The submission was cancelled.");
    this.name = "SubmissionCancelled";
  }
}

/** A PostgREST error as supabase-js gives it. */
export interface DataApiError {
  code?: string;
  hint?: string | null;
  message?: string;
}

/** What a submission runs on; `upload.ts` gives the real ones. */
export interface SubmissionServices {
  /** `queue_status()`: whether the system accepts a job now, and why not. */
  queueStatus(): Promise<{ accepting?: boolean; message?: string | null }>;
  /** The recording hash of the file (media/recording_hash.ts). */
  hash(file: File, options: ExtractOptions): Promise<string>;
  /** The audio, cut into chunks (media/extract.ts). */
  extract(file: File, options: ExtractOptions): Promise<ExtractedAudio>;
  /** One object into the media bucket, resumably; `onProgress` gets the bytes sent so far. */
  uploadChunk(
    path: string,
    blob: Blob,
    options: ExtractOptions & { onProgress: (sent: number) => void },
  ): Promise<void>;
  /** The manifest (JSON text) into the media bucket. */
  uploadManifest(path: string, json: string): Promise<void>;
  /** The job row, or the refusal of the database. */
  insertJob(
    row: {
      filename: string;
      media: ReturnType<typeof jobMedia>;
      options: SubmitOptions;
    },
  ): Promise<
    {
      data:
        | { id: string; cached_from: string | null; cached_at: string | null }
        | null;
      error: DataApiError | null;
    }
  >;
  /** Removes objects (best effort). */
  remove(paths: string[]): Promise<void>;
  /** A fresh upload id (the folder under the user's). */
  newId(): string;
  /** `check_options(options)`: the insert's own validation, or null when they would pass. */
  checkOptions?(options: SubmitOptions): Promise<DataApiError | null>;
  /**
   * The file's audio track (media/extract.ts probeAudioTrack): which of how many is used, or a
   * NoAudioError; null when only the fallback extractor can tell.
   */
  probeAudio?(file: File): Promise<{ track: number; tracks: number } | null>;
}

export function isMediaFile(file: File): boolean {
  return file.type.startsWith("audio/") || file.type.startsWith("video/") ||
    isMediaName(file.name);
}

/** A PostgREST error of the job engine (SQLSTATE PT<status>, hint = error code) for the user. */
export function refusalOf(error: DataApiError): Error {
  if (error.code === "PT429" || error.hint === "queue_full") {
    return new UploadRefused(userMessage(error), "queue_full");
  }
  if (error.code && /^PT4\d\d$/.test(error.code)) {
    return new UploadRefused(userMessage(error), error.hint ?? undefined);
  }
  return new Error(userMessage(error));
}

export async function runSubmission(
  file: File,
  userId: string,
  options: SubmitOptions,
  onProgress: (p: SubmitProgress) => void,
  gate: PauseGate,
  signal: AbortSignal,
  services: SubmissionServices,
): Promise<SubmitResult> {
  if (!isMediaFile(file)) {
    throw new UploadRefused("Please choose an audio or video file.");
  }
  if (file.size === 0) throw new UploadRefused("This file is empty.");

  // Before any work: a full system refuses now rather than after a long upload.
  onProgress({ phase: "queue", fraction: 0 });
  let queue;
  try {
    queue = await services.queueStatus();
  } catch (error) {
    throw new Error(userMessage(error));
  }
  if (queue.accepting === false) {
    throw new UploadRefused(
      queue.message ?? "The system is busy; try again in a few minutes.",
      "queue_full",
    );
  }
  // The options as the insert would check them (unknown preset or language), and whether the
  // file has audio at all: refused now, before hashing or uploading anything.
  const optionsError = await services.checkOptions?.(options);
  if (optionsError) throw refusalOf(optionsError);
  const found = await services.probeAudio?.(file).catch((error) => {
    if (error instanceof NoAudioError) throw new UploadRefused(error.message, error.code);
    throw error;
  });
  // With several audio tracks, the page says which one is transcribed (the default one).
  const track = found && found.tracks > 1
    ? `audio track ${found.track} of ${found.tracks}, the default`
    : undefined;
  onProgress({ phase: "queue", fraction: 1 });
  await gate.passage(signal);

  onProgress({ phase: "hashing", fraction: 0 });
  // The recording hash (media/recording_hash.ts), sent as media.sha256.
  const sha256 = await services.hash(file, {
    gate,
    signal,
    onProgress: (fraction) => onProgress({ phase: "hashing", fraction }),
  });

  onProgress({ phase: "extracting", fraction: 0, detail: track });
  let audio;
  try {
    audio = await services.extract(file, {
      gate,
      signal,
      onProgress: (fraction) => onProgress({ phase: "extracting", fraction, detail: track }),
    });
  } catch (error) {
    signal.throwIfAborted();
    if (error instanceof NoAudioError) {
      throw new UploadRefused(error.message, error.code);
    }
    throw new UploadRefused(
      `This file could not be read as audio or video (${userMessage(error)}).`,
      "unreadable_media",
    );
  }

  const folder = `${userId}/${services.newId()}`;
  const uploaded: string[] = [];
  try {
    const total = audio.chunks.reduce((n, c) => n + c.blob.size, 0);
    let before = 0;
    for (const chunk of audio.chunks) {
      const path = objectPath(folder, chunk.name);
      const detail = `Chunk ${chunk.index + 1} of ${audio.chunks.length}`;
      onProgress({ phase: "uploading", fraction: before / total, detail });
      await gate.passage(signal);
      uploaded.push(path);
      await services.uploadChunk(path, chunk.blob, {
        gate,
        signal,
        onProgress: (sent) =>
          onProgress({
            phase: "uploading",
            fraction: (before + sent) / total,
            detail,
          }),
      });
      before += chunk.blob.size;
    }
    const source = {
      filename: file.name,
      bytes: file.size,
      sha256,
      duration: audio.duration,
      audio_start: audio.audioStart,
    };
    const manifestPath = objectPath(folder, MANIFEST_NAME);
    const manifest = buildManifest(folder, source, audio, audio.chunks);
    uploaded.push(manifestPath);
    await services.uploadManifest(manifestPath, JSON.stringify(manifest));
    onProgress({ phase: "uploading", fraction: 1 });

    await gate.passage(signal);
    onProgress({ phase: "submitting", fraction: 0 });
    const { data: job, error: insertError } = await services.insertJob({
      filename: file.name,
      media: jobMedia(folder, source),
      options,
    });
    if (insertError || !job) throw refusalOf(insertError ?? {});
    onProgress({ phase: "submitting", fraction: 1 });
    return {
      jobId: job.id,
      cachedFrom: job.cached_from ?? null,
      cachedAt: job.cached_at ?? null,
    };
  } catch (error) {
    // Nothing will read an upload without its job: remove it (best effort).
    if (uploaded.length) void services.remove(uploaded).catch(() => {});
    throw error;
  }
}
