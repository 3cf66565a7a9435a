/**
 * Submitting a recording, the way the page (or any client) does it: queue check, SHA-256 of the
 * file, its audio extracted and cut into chunks in the browser (the video never leaves the
 * machine), the chunks and a manifest uploaded with TUS to `media/<user>/<upload id>/`, then the
 * direct insert into `jobs`. Every phase reports progress and obeys pause, resume and abort.
 */
import type { Json } from "../../supabase/functions/_shared/database.types.ts";
import { userMessage } from "./errors.ts";
import {
  extractAudio as extractWithMediabunny,
  type ExtractOptions,
  NoAudioError,
  probeAudioTrack,
} from "./media/extract.ts";
import { buildManifest, jobMedia, MANIFEST_NAME, objectPath } from "./media/manifest.ts";
import { isMediaName } from "./media/media_files.ts";
import { recordingHashOfBlob } from "./media/recording_hash.ts";
import { PauseGate } from "./media/pause_gate.ts";
import { supabase, supabasePublishableKey, supabaseUrl } from "./supabase.ts";

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

export type SubmitPhase = "queue" | "hashing" | "extracting" | "uploading" | "submitting";

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

export interface UploadHandle {
  pause(): void;
  resume(): void;
  abort(): void;
  readonly paused: boolean;
  /** Rejects with UploadRefused (message for the user), SubmissionCancelled or Error. */
  done: Promise<SubmitResult>;
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

const BUCKET = "media";
function isMediaFile(file: File): boolean {
  return file.type.startsWith("audio/") || file.type.startsWith("video/") || isMediaName(file.name);
}

async function accessToken(): Promise<string> {
  const { data } = await supabase.auth.getSession();
  const token = data.session?.access_token;
  if (!token) throw new UploadRefused("You are signed out; reload the page to sign in again.");
  return token;
}

/** A PostgREST error of the job engine (SQLSTATE PT<status>, hint = error code) for the user. */
function refusalOf(error: { code?: string; hint?: string | null; message?: string }): Error {
  if (error.code === "PT429" || error.hint === "queue_full") {
    return new UploadRefused(userMessage(error), "queue_full");
  }
  if (error.code && /^PT4\d\d$/.test(error.code)) {
    return new UploadRefused(userMessage(error), error.hint ?? undefined);
  }
  return new Error(userMessage(error));
}

/** The browser's extraction: mediabunny, and ffmpeg.wasm (loaded only then) for the rest. */
function extractAudio(file: File, options: ExtractOptions = {}) {
  return extractWithMediabunny(file, {
    ...options,
    fallback: async (f, o) => (await import("./media/ffmpeg_extract.ts")).extractWithFfmpeg(f, o),
  });
}

/**
 * Starts submitting `file` for `userId` (the signed-in user) and returns at once; `done`
 * settles with the inserted job.
 */
export function submitRecording(
  file: File,
  userId: string,
  options: SubmitOptions,
  onProgress: (p: SubmitProgress) => void,
): UploadHandle {
  const gate = new PauseGate();
  const controller = new AbortController();
  const done = runSubmission(file, userId, options, onProgress, gate, controller.signal);
  return {
    pause: () => gate.pause(),
    resume: () => gate.resume(),
    abort: () => controller.abort(new SubmissionCancelled()),
    get paused() {
      return gate.paused;
    },
    done,
  };
}

async function runSubmission(
  file: File,
  userId: string,
  options: SubmitOptions,
  onProgress: (p: SubmitProgress) => void,
  gate: PauseGate,
  signal: AbortSignal,
): Promise<SubmitResult> {
  if (!isMediaFile(file)) throw new UploadRefused("Please choose an audio or video file.");
  if (file.size === 0) throw new UploadRefused("This file is empty.");

  // Before any work: a full system refuses now rather than after a long upload.
  onProgress({ phase: "queue", fraction: 0 });
  const { data, error: queueError } = await supabase.rpc("queue_status");
  const queue = data as { accepting?: boolean; message?: string | null } | null;
  if (queueError) throw new Error(userMessage(queueError));
  if (queue && queue.accepting === false) {
    throw new UploadRefused(
      queue.message ?? "The system is busy; try again in a few minutes.",
      "queue_full",
    );
  }
  // The options as the insert would check them (unknown preset or language), and whether the
  // file has audio at all: refused now, before hashing or uploading anything.
  const { error: optionsError } = await supabase.rpc("check_options", {
    options: options as unknown as Json,
  });
  if (optionsError) throw refusalOf(optionsError);
  const found = await probeAudioTrack(file).catch((error) => {
    if (error instanceof NoAudioError) throw new UploadRefused(error.message, error.code);
    // Files mediabunny cannot read go to ffmpeg.wasm during extraction, which decides then.
    return null;
  });
  // With several audio tracks, the page says which one is transcribed (the default one).
  const track = found && found.tracks > 1
    ? `audio track ${found.track} of ${found.tracks}, the default`
    : undefined;
  onProgress({ phase: "queue", fraction: 1 });
  await gate.passage(signal);

  onProgress({ phase: "hashing", fraction: 0 });
  // The recording hash (media/recording_hash.ts), sent as media.sha256.
  const sha256 = await recordingHashOfBlob(file, {
    gate,
    signal,
    onProgress: (fraction) => onProgress({ phase: "hashing", fraction }),
  });

  onProgress({ phase: "extracting", fraction: 0, detail: track });
  let audio;
  try {
    audio = await extractAudio(file, {
      gate,
      signal,
      onProgress: (fraction) => onProgress({ phase: "extracting", fraction, detail: track }),
    });
  } catch (error) {
    signal.throwIfAborted();
    if (error instanceof NoAudioError) throw new UploadRefused(error.message, error.code);
    throw new UploadRefused(
      `This file could not be read as audio or video (${userMessage(error)}).`,
      "unreadable_media",
    );
  }

  const folder = `${userId}/${crypto.randomUUID()}`;
  const uploaded: string[] = [];
  try {
    // Loaded when needed: the first page does not pay for the TUS client.
    const { uploadResumable } = await import("./media/tus_upload.ts");
    const total = audio.chunks.reduce((n, c) => n + c.blob.size, 0);
    let before = 0;
    for (const chunk of audio.chunks) {
      const path = objectPath(folder, chunk.name);
      const detail = `Chunk ${chunk.index + 1} of ${audio.chunks.length}`;
      onProgress({ phase: "uploading", fraction: before / total, detail });
      await gate.passage(signal);
      uploaded.push(path);
      await uploadResumable({
        supabaseUrl,
        apiKey: supabasePublishableKey,
        accessToken,
        bucket: BUCKET,
        path,
        blob: chunk.blob,
        contentType: chunk.blob.type,
        gate,
        signal,
        onProgress: (sent) =>
          onProgress({ phase: "uploading", fraction: (before + sent) / total, detail }),
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
    const { error: manifestError } = await supabase.storage.from(BUCKET).upload(
      manifestPath,
      new Blob([JSON.stringify(manifest)], { type: "application/json" }),
      { contentType: "application/json", upsert: true },
    );
    if (manifestError) throw new Error(`Uploading the manifest failed: ${manifestError.message}`);
    onProgress({ phase: "uploading", fraction: 1 });

    await gate.passage(signal);
    onProgress({ phase: "submitting", fraction: 0 });
    const { data: job, error: insertError } = await supabase.from("jobs").insert({
      filename: file.name,
      media: jobMedia(folder, source),
      options,
    }).select("id,cached_from,cached_at").single();
    if (insertError) throw refusalOf(insertError);
    onProgress({ phase: "submitting", fraction: 1 });
    return {
      jobId: job.id as string,
      cachedFrom: (job.cached_from as string | null) ?? null,
      cachedAt: (job.cached_at as string | null) ?? null,
    };
  } catch (error) {
    // Nothing will read an upload without its job: remove it (best effort).
    if (uploaded.length) void supabase.storage.from(BUCKET).remove(uploaded).catch(() => {});
    throw error;
  }
}

// Browser tests set `window.__aiSubsTest = {}` before the page loads (Playwright addInitScript)
// to drive the pipeline directly; in normal use nothing is exposed.
const testHooks = (globalThis as { __aiSubsTest?: Record<string, unknown> }).__aiSubsTest;
if (testHooks) Object.assign(testHooks, { submitRecording, recordingHashOfBlob, extractAudio });
