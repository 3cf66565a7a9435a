import assert from "node:assert/strict";
import type { Chunk, Manifest } from "../_shared/engine/contract.ts";
import { StepError } from "../_shared/engine/failure.ts";
import {
  checkManifestPlan,
  checkProbedDurations,
  CHUNK_SECONDS,
  chunkCount,
  OVERLAP_SECONDS,
} from "./manifest_check.ts";

const limits = { maxMediaSeconds: 4 * 3600 };

/** The manifest the web app makes for `duration` seconds (chunk_plan.ts's windows). */
function webManifest(duration: number): Manifest {
  const chunks: Chunk[] = Array.from({ length: chunkCount(duration) }, (_, i) => {
    const start = i === 0 ? 0 : i * CHUNK_SECONDS - OVERLAP_SECONDS - 0.012;
    const last = i === chunkCount(duration) - 1;
    return {
      index: i,
      path: `u/j/chunk-${i}.m4a`,
      start,
      end: last ? duration : (i + 1) * CHUNK_SECONDS + 0.021,
      overlap_before: i === 0 ? 0 : i * CHUNK_SECONDS - start,
    };
  });
  return { version: 1, source: { filename: "talk.mp4", duration }, chunks };
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof StepError) return e.code;
    throw e;
  }
  return "accepted";
}

Deno.test("the web app's manifests pass, from 3 seconds to the limit", () => {
  for (const duration of [3, 599, 601.5, 3600.02, 5400.2, 4 * 3600]) {
    const m = webManifest(duration);
    checkManifestPlan(m, limits);
    checkProbedDurations(m.chunks, m.chunks.map((c) => c.end - c.start + 0.02));
  }
});

Deno.test("packets past the announced duration stay in the last chunk", () => {
  // The web app counts chunks from the metadata's 600 s, then the packets end at 603 s.
  const m = webManifest(600);
  m.chunks[0].end = 603;
  m.source.duration = 603;
  checkManifestPlan(m, limits);
});

Deno.test("150 chunks all pointing at one 3-second file are refused before fan-out", () => {
  const chunks = Array.from({ length: 150 }, (_, i) => ({
    index: i,
    path: "u/j/three-seconds.wav",
    start: i * 600,
    end: (i + 1) * 600,
    overlap_before: 0,
  }));
  const m: Manifest = { version: 1, source: { filename: "x", duration: 90_000 }, chunks };
  assert(refusal(() => checkManifestPlan(m, limits)) === "media_too_long", "the total");
  const short = { ...m, source: { filename: "x", duration: 3 } };
  assert(refusal(() => checkManifestPlan(short, limits)) === "invalid_manifest", "the count");
  const honest = { ...m, source: { filename: "x", duration: 150 * 600 }, chunks };
  assert(
    refusal(() => checkManifestPlan(honest, { maxMediaSeconds: 1e9 })) === "invalid_manifest",
    "one object named by every chunk",
  );
  const one = webManifest(600);
  assert(
    refusal(() => checkProbedDurations(one.chunks, [3])) === "invalid_manifest",
    "a chunk holding 3 s of audio for a 600 s window",
  );
});

Deno.test("out of order, gaps, long overlaps and windows inside another are refused", () => {
  const cases: [string, (m: Manifest) => void][] = [
    ["swapped", (m) => m.chunks.reverse()],
    ["a gap", (m) => (m.chunks[1].start += 30)],
    ["a long overlap", (m) => (m.chunks[1].start -= 60)],
    ["overlap_before too long", (m) => (m.chunks[1].overlap_before = 60)],
    ["not from 0", (m) => (m.chunks[0].start = 5)],
    ["the tail missing", (m) => (m.chunks[m.chunks.length - 1].end -= 60)],
    ["a chunk too long", (m) => (m.chunks[0].end = 700)],
    ["an extra chunk", (m) => m.chunks.push({ ...m.chunks[2], index: 3, path: "u/j/x.m4a" })],
  ];
  for (const [what, change] of cases) {
    const m = webManifest(1500);
    change(m);
    assert(refusal(() => checkManifestPlan(m, limits)) === "invalid_manifest", what);
  }
  const inside = webManifest(1500);
  inside.chunks[1] = { ...inside.chunks[1], end: inside.chunks[0].end - 1 };
  assert(refusal(() => checkManifestPlan(inside, limits)) === "invalid_manifest", "inside");
});
