/**
 * What prepare checks a chunk manifest against before a single transcribe task exists, so a
 * manifest cannot plan more work than the audio that was uploaded (150 chunks all pointing at
 * one 3-second file, windows that skip or repeat the recording, a total past the limit), while
 * any client's honest chunking is accepted. The rules themselves are the shared definition of a
 * recording's windows (../_shared/audio/recording_windows.ts), stated in words in
 * supabase/schemas/README.md ("Manifest"); each refusal names its rule and the chunk.
 *
 * Every refusal is `invalid_manifest` (or `media_too_long`), permanent.
 */
import type { Chunk, Manifest } from "../_shared/engine/contract.ts";
import { StepError } from "../_shared/engine/failure.ts";
import { planRefusal, probedRefusal, type Refusal } from "../_shared/audio/recording_windows.ts";

function raise(refusal: Refusal | null): void {
  if (refusal) throw new StepError(refusal.code, refusal.message);
}

/** Checks the plan a manifest declares; returns its chunks, in order. */
export function checkManifestPlan(
  manifest: Manifest,
  limits: { maxMediaSeconds: number },
): Chunk[] {
  raise(planRefusal(manifest, limits.maxMediaSeconds));
  return manifest.chunks;
}

/** Checks that each chunk's probed duration (seconds, same order) is its declared window's. */
export function checkProbedDurations(chunks: Chunk[], probed: number[]): void {
  raise(probedRefusal(chunks, probed));
}
