/**
 * prepare: learn what is to be transcribed. With a chunk manifest (what the web app uploads)
 * the plan is the manifest's, checked; a single uploaded WAV of any length is planned as
 * 10-minute windows cut by byte range in transcribe; any other single file of at most one
 * window is one chunk.
 */
import { type Chunk, Manifest, type StepOutput } from "../contract.ts";
import { StepError } from "../failure.ts";
import type { StepContext } from "../step_runtime.ts";
import { MEDIA_BUCKET } from "../supabase_client.ts";
import { assertOwnPath, downloadMedia } from "./media.ts";
import { readWavHeader } from "./wav.ts";

/** Longest chunk (DESIGN.md: about 10 minutes) and the overlap between neighbours. */
export const CHUNK_SECONDS = 600;
export const OVERLAP_SECONDS = 3;
/** Longest recording accepted (3 hours of product scope, with headroom). */
export const MAX_DURATION_SECONDS = 5 * 3600;

export function planChunks(path: string, duration: number): Chunk[] {
  const chunks: Chunk[] = [];
  for (let start = 0, index = 0; start < duration; start += CHUNK_SECONDS, index++) {
    const from = Math.max(0, start - (index === 0 ? 0 : OVERLAP_SECONDS));
    chunks.push({
      index,
      path,
      start: from,
      end: Math.min(duration, start + CHUNK_SECONDS),
      overlap_before: start - from,
    });
  }
  return chunks;
}

export async function prepareStep(ctx: StepContext<"prepare">): Promise<StepOutput<"prepare">> {
  const { job } = ctx.claim;
  assertOwnPath(job.owner_id, job.media.path);
  ctx.progress(0.1, "Reading the upload");
  if (job.media.path.endsWith(".json")) {
    const text = await (await downloadMedia(ctx.supabase, job.media.path)).text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new StepError("unreadable_media", "the chunk manifest is not JSON");
    }
    const manifest = Manifest.safeParse(json);
    if (!manifest.success) {
      throw new StepError(
        "unreadable_media",
        `the chunk manifest is invalid: ${manifest.error.message}`,
      );
    }
    const { source, chunks } = manifest.data;
    if (source.duration > MAX_DURATION_SECONDS) {
      throw new StepError("media_too_long", `recording is ${source.duration} s long`);
    }
    for (const chunk of chunks) assertOwnPath(job.owner_id, chunk.path);
    const sorted = [...chunks].sort((a, b) => a.index - b.index);
    sorted.forEach((c, i) => {
      if (c.index !== i) {
        throw new StepError("unreadable_media", "manifest chunk indexes are not 0..n-1");
      }
      if (c.end - c.start > CHUNK_SECONDS + 2 * OVERLAP_SECONDS + 1) {
        throw new StepError(
          "unreadable_media",
          `manifest chunk ${i} is longer than ${CHUNK_SECONDS} s`,
        );
      }
    });
    // Every chunk must exist before fan-out, so a missing one fails now and clearly. Chunks
    // may sit in other folders of the owner (an earlier upload reused), so list each folder.
    const names = new Set<string>();
    for (const folder of new Set(sorted.map((c) => c.path.slice(0, c.path.lastIndexOf("/"))))) {
      const { data: listed, error } = await ctx.supabase.storage.from(MEDIA_BUCKET).list(folder, {
        limit: 1000,
      });
      if (error) throw new StepError("network_error", `listing ${folder}: ${error.message}`, true);
      for (const o of listed ?? []) names.add(`${folder}/${o.name}`);
    }
    const missing = sorted.filter((c) => !names.has(c.path));
    if (missing.length) {
      throw new StepError(
        "unreadable_media",
        `manifest chunks missing: ${missing.map((c) => c.path).join(", ")}`,
      );
    }
    return { duration: source.duration, chunks: sorted };
  }
  const blob = await downloadMedia(ctx.supabase, job.media.path);
  const wav = readWavHeader(new Uint8Array(await blob.slice(0, 4096).arrayBuffer()));
  if (wav) {
    const duration = (blob.size - wav.dataOffset) / wav.byteRate;
    if (duration <= 0) throw new StepError("no_speech", "the recording is empty");
    if (duration > MAX_DURATION_SECONDS) throw new StepError("media_too_long", `${duration} s`);
    return { duration, chunks: planChunks(job.media.path, duration) };
  }
  const duration = job.media.duration ?? null;
  if (blob.size === 0) throw new StepError("unreadable_media", "the file is empty");
  if (duration !== null && duration > CHUNK_SECONDS) {
    throw new StepError(
      "media_needs_manifest",
      `a single ${duration} s file that is not WAV cannot be cut on the server (no ffmpeg there)`,
    );
  }
  return {
    duration: duration ?? CHUNK_SECONDS,
    chunks: [{
      index: 0,
      path: job.media.path,
      start: 0,
      end: duration ?? CHUNK_SECONDS,
      overlap_before: 0,
    }],
  };
}
