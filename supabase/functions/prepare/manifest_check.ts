/**
 * What prepare checks a chunk manifest against before a single transcribe task exists, so a
 * manifest cannot plan more work than the audio that was uploaded (150 chunks all pointing at
 * one 3-second file, windows that skip or repeat the recording, a total past the limit):
 *
 * - chunks are listed in order (index 0..n-1), each its own object, starting at 0;
 * - each starts where its predecessor ends, or earlier by at most MAX_OVERLAP_SECONDS (no gap,
 *   no window wholly inside another), and is at most MAX_CHUNK_SECONDS long;
 * - the last one ends where the recording does (up to MAX_OVERLAP_SECONDS early: container
 *   metadata may round up), and their count is the one CHUNK_SECONDS gives for that duration
 *   (`chunkCount`, the web app's rule; or for the duration that many seconds shorter, as the
 *   web app counts from metadata and then keeps packets past it in the last chunk);
 * - the recording is no longer than the one limit, `max_media_seconds` (private.settings);
 * - each chunk's real duration, probed from the uploaded object, is its declared window's.
 *
 * Every refusal is `invalid_manifest` (or `media_too_long`), permanent, with the detail for logs.
 */
import type { Chunk, Manifest } from "../_shared/engine/contract.ts";
import { StepError } from "../_shared/engine/failure.ts";

/** Nominal chunk length (the web app's CHUNK_SECONDS, web/src/media/chunk_plan.ts). */
export const CHUNK_SECONDS = 600;
/** The overlap the web app puts before every chunk but the first. */
export const OVERLAP_SECONDS = 3;
/** The longest overlap accepted between neighbours (documented in supabase/schemas/README.md). */
export const MAX_OVERLAP_SECONDS = 10;
/** The longest chunk accepted: a window, its overlap and the last chunk's tail. */
export const MAX_CHUNK_SECONDS = CHUNK_SECONDS + 2 * OVERLAP_SECONDS + 1;
/** Seconds past the last full window that stay in the last chunk (chunk_plan.ts's rule). */
export const TAIL_SLACK_SECONDS = 2;
/**
 * How far declared and real times may differ: the packet granularity of compressed audio
 * (AAC 21-23 ms, Opus 20 ms, MP3 26 ms) plus rounding, with room to spare.
 */
export const TIME_TOLERANCE_SECONDS = 0.5;

/** How many chunks a recording of `duration` seconds is cut into (at least one). */
export function chunkCount(duration: number): number {
  return Math.max(1, Math.ceil((duration - TAIL_SLACK_SECONDS) / CHUNK_SECONDS));
}

function invalid(detail: string): never {
  throw new StepError("invalid_manifest", `the chunk manifest is invalid: ${detail}`);
}

/** Checks the plan a manifest declares; returns its chunks, in order. */
export function checkManifestPlan(
  manifest: Manifest,
  limits: { maxMediaSeconds: number },
): Chunk[] {
  const { source, chunks } = manifest;
  const eps = TIME_TOLERANCE_SECONDS;
  if (source.duration > limits.maxMediaSeconds) {
    throw new StepError(
      "media_too_long",
      `recording is ${source.duration} s long, more than ${limits.maxMediaSeconds} s`,
    );
  }
  const fewest = chunkCount(source.duration - MAX_OVERLAP_SECONDS);
  const most = chunkCount(source.duration);
  if (chunks.length < fewest || chunks.length > most) {
    invalid(`${chunks.length} chunks for ${source.duration} s of audio, expected ${most}`);
  }
  const paths = new Set<string>();
  chunks.forEach((c, i) => {
    if (c.index !== i) invalid(`chunk ${i} has index ${c.index}; indexes must be 0..n-1 in order`);
    if (paths.has(c.path)) invalid(`chunk ${i} repeats the object ${c.path}`);
    paths.add(c.path);
    if (!(c.end > c.start)) invalid(`chunk ${i} ends before it starts`);
    if (c.end - c.start > MAX_CHUNK_SECONDS) {
      invalid(`chunk ${i} is ${c.end - c.start} s long, more than ${MAX_CHUNK_SECONDS} s`);
    }
    if (c.overlap_before > MAX_OVERLAP_SECONDS) {
      invalid(`chunk ${i} overlaps by ${c.overlap_before} s, more than ${MAX_OVERLAP_SECONDS} s`);
    }
    if (i === 0) {
      if (c.start > eps) invalid(`the first chunk starts at ${c.start} s, not 0`);
      return;
    }
    const before = chunks[i - 1];
    if (c.start > before.end + eps) {
      invalid(`a gap between chunk ${i - 1} (ends ${before.end} s) and ${i} (${c.start} s)`);
    }
    if (before.end - c.start > MAX_OVERLAP_SECONDS + eps) {
      invalid(`chunk ${i} overlaps chunk ${i - 1} by ${before.end - c.start} s`);
    }
    if (c.end <= before.end) invalid(`chunk ${i} does not reach past chunk ${i - 1}`);
  });
  const last = chunks[chunks.length - 1];
  if (last.end > source.duration + eps || last.end < source.duration - MAX_OVERLAP_SECONDS) {
    invalid(`the chunks end at ${last.end} s but the recording is ${source.duration} s long`);
  }
  return chunks;
}

/** Checks that each chunk's probed duration (seconds, same order) is its declared window's. */
export function checkProbedDurations(chunks: Chunk[], probed: number[]): void {
  chunks.forEach((c, i) => {
    const declared = c.end - c.start;
    if (Math.abs(probed[i] - declared) > TIME_TOLERANCE_SECONDS) {
      invalid(
        `chunk ${i} (${c.path}) holds ${
          probed[i].toFixed(3)
        } s of audio but declares ${declared} s`,
      );
    }
  });
}
