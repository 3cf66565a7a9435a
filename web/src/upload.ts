/**
 * Submitting a recording, the way the page (or any client) does it: submission.ts's order run
 * on this project's services (queue_status, the hash worker, mediabunny with ffmpeg.wasm as
 * fallback, TUS uploads to `media/<user>/<upload id>/`, the direct insert into `jobs`).
 */
import type { Json } from "../../supabase/functions/_shared/database.types.ts";
import {
  extractAudio as extractWithMediabunny,
  type ExtractOptions,
  NoAudioError,
  probeAudioTrack,
} from "./media/extract.ts";
import { recordingHashOfBlob } from "./media/recording_hash.ts";
import { PauseGate } from "./media/pause_gate.ts";
import {
  runSubmission,
  SubmissionCancelled,
  type SubmissionServices,
  type SubmitOptions,
  type SubmitProgress,
  type SubmitResult,
  UploadRefused,
} from "./submission.ts";
import { supabase, supabasePublishableKey, supabaseUrl } from "./supabase.ts";

export {
  type CaptionStyleOption,
  SubmissionCancelled,
  type SubmitOptions,
  type SubmitPhase,
  type SubmitProgress,
  type SubmitResult,
  UploadRefused,
} from "./submission.ts";

export interface UploadHandle {
  pause(): void;
  resume(): void;
  abort(): void;
  readonly paused: boolean;
  /** Rejects with UploadRefused (message for the user), SubmissionCancelled or Error. */
  done: Promise<SubmitResult>;
}

const BUCKET = "media";

async function accessToken(): Promise<string> {
  const { data } = await supabase.auth.getSession();
  const token = data.session?.access_token;
  if (!token) {
    throw new UploadRefused(
      "You are signed out; reload the page to sign in again.",
    );
  }
  return token;
}

/** The browser's extraction: mediabunny, and ffmpeg.wasm (loaded only then) for the rest. */
function extractAudio(file: File, options: ExtractOptions = {}) {
  return extractWithMediabunny(file, {
    ...options,
    fallback: async (f, o) => (await import("./media/ffmpeg_extract.ts")).extractWithFfmpeg(f, o),
  });
}

/** This project's services for submission.ts. */
const services: SubmissionServices = {
  async queueStatus() {
    const { data, error } = await supabase.rpc("queue_status");
    if (error) throw error;
    return (data ?? {}) as { accepting?: boolean; message?: string | null };
  },
  hash: (file, options) => recordingHashOfBlob(file, options),
  extract: extractAudio,
  async uploadChunk(path, blob, { gate, signal, onProgress }) {
    // Loaded when needed: the first page does not pay for the TUS client.
    const { uploadResumable } = await import("./media/tus_upload.ts");
    await uploadResumable({
      supabaseUrl,
      apiKey: supabasePublishableKey,
      accessToken,
      bucket: BUCKET,
      path,
      blob,
      contentType: blob.type,
      gate,
      signal,
      onProgress,
    });
  },
  async uploadManifest(path, json) {
    const { error } = await supabase.storage.from(BUCKET).upload(
      path,
      new Blob([json], { type: "application/json" }),
      { contentType: "application/json", upsert: true },
    );
    if (error) {
      throw new Error(`Uploading the manifest failed: ${error.message}`);
    }
  },
  async insertJob(row) {
    const { data, error } = await supabase.from("jobs").insert(row)
      .select("id,cached_from,cached_at").single();
    return { data, error };
  },
  async remove(paths) {
    await supabase.storage.from(BUCKET).remove(paths);
  },
  newId: () => crypto.randomUUID(),
  async checkOptions(options) {
    const { error } = await supabase.rpc("check_options", { options: options as Json });
    return error;
  },
  async probeAudio(file) {
    try {
      return await probeAudioTrack(file);
    } catch (error) {
      if (error instanceof NoAudioError) throw error;
      return null; // files mediabunny cannot read go to ffmpeg.wasm, which decides then
    }
  },
};

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
  const done = runSubmission(
    file,
    userId,
    options,
    onProgress,
    gate,
    controller.signal,
    services,
  );
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

// Browser tests set `window.__aiSubsTest = {}` before the page loads (Playwright addInitScript)
// to drive the pipeline directly; in normal use nothing is exposed.
const testHooks = (globalThis as { __aiSubsTest?: Record<string, unknown> }).__aiSubsTest;
if (testHooks) {
  Object.assign(testHooks, {
    submitRecording,
    recordingHashOfBlob,
    extractAudio,
  });
}
