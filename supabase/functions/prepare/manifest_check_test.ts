/**
 * One test per manifest rule (supabase/schemas/README.md, "Manifest"): the refusal, its code and
 * its message, naming the rule and the chunk. And the plans that must pass: the web app's, the
 * CLI's, a script's own cuts, and the windows of a single uploaded file.
 */
import assert from "node:assert/strict";
import type { Chunk, Manifest } from "../_shared/engine/contract.ts";
import { StepError } from "../_shared/engine/failure.ts";
import { MANIFEST_RULES, planWindows } from "../_shared/audio/recording_windows.ts";
import { ffmpegChunks } from "../../../web/src/media/ffmpeg_plan.ts";
import { checkManifestPlan, checkProbedDurations } from "./manifest_check.ts";
import { planChunks } from "./step.ts";

const limits = { maxMediaSeconds: 4 * 3600 };

function manifest(duration: number, windows: [number, number, number?][]): Manifest {
  const chunks: Chunk[] = windows.map(([start, end, overlap], index) => ({
    index,
    path: `u/j/chunk-${index}.m4a`,
    start,
    end,
    overlap_before: overlap ?? 0,
  }));
  return { version: 1, source: { filename: "talk.mp4", duration, audio_start: 0 }, chunks };
}

/** The manifest the web app makes for `duration` seconds (packet times around the cuts). */
function webManifest(duration: number): Manifest {
  return manifest(
    duration,
    planWindows(duration).map((w, i, all) => [
      i === 0 ? 0 : w.start - 0.012,
      i === all.length - 1 ? duration : w.end + 0.021,
      w.overlap_before,
    ]),
  );
}

/** The code and message of a refusal, or "accepted". */
function refusal(fn: () => unknown): { code: string; message: string } | "accepted" {
  try {
    fn();
  } catch (e) {
    if (e instanceof StepError) return { code: e.code, message: e.message };
    throw e;
  }
  return "accepted";
}

function assertRefused(
  m: Manifest,
  rule: (typeof MANIFEST_RULES)[number],
  message: string,
  code = "invalid_manifest",
) {
  assert.deepEqual(refusal(() => checkManifestPlan(m, limits)), {
    code,
    message: `${message} (rule "${rule}")`,
  });
}

const accepted = (m: Manifest, probed = m.chunks.map((c) => c.end - c.start + 0.02)) => {
  assert.equal(refusal(() => checkManifestPlan(m, limits)), "accepted");
  assert.equal(refusal(() => checkProbedDurations(m.chunks, probed)), "accepted");
};

Deno.test("accepted: the web app's manifests, from 3 seconds to the limit", () => {
  for (const duration of [3, 599, 601.5, 3600.02, 5400.2, 4 * 3600]) {
    accepted(webManifest(duration));
  }
});

Deno.test("accepted: the CLI's ffmpeg plans, at every chunk length it uses", () => {
  for (
    const [duration, codec, kbps] of [[25.4, "aac", 64], [1300, "pcm_s16le", null], [
      1300,
      "mp3",
      1411,
    ], [3 * 3600, "opus", 96]] as const
  ) {
    const { chunks } = ffmpegChunks(duration, codec, kbps);
    accepted(manifest(duration, chunks.map((c) => [c.from, c.to, c.index === 0 ? 0 : 3])));
  }
});

Deno.test("accepted: a script's own cuts (5-minute chunks with 5 s overlaps)", () => {
  accepted(manifest(1000, [[0, 300], [295, 600, 5], [595, 900, 5], [895, 1000, 5]]));
  // One chunk of the whole recording, shorter than a minute.
  accepted(manifest(42.5, [[0, 42.5]]));
});

Deno.test("accepted: the windows prepare plans for a single uploaded file", () => {
  for (const duration of [0.5, 601, 1799.9, 7200]) {
    const m = manifest(duration, []);
    m.chunks = planChunks("u/j/talk.wav", duration).map((c, i) => ({ ...c, path: `u/j/${i}` }));
    accepted(m);
  }
});

Deno.test('rule "duration limit": the audio longer than max_media_seconds', () => {
  assertRefused(
    manifest(90_000, [[0, 600]]),
    "duration limit",
    "the recording's audio is 90000 s long, more than the limit of 14400 s",
    "media_too_long",
  );
});

Deno.test('rule "audio start": source.audio_start past the limit', () => {
  const m = manifest(30, [[0, 30]]);
  m.source.audio_start = 20_000;
  assertRefused(m, "audio start", "source.audio_start is 20000; it must be from 0 to 14400 s");
});

Deno.test('rule "chunk count": 150 chunks over 3 s of audio', () => {
  const m = manifest(3, Array.from({ length: 150 }, () => [0, 3] as [number, number]));
  assertRefused(
    m,
    "chunk count",
    "150 chunks for 3 s of audio: at most 2 fit when every chunk but the last is at least 60 s",
  );
});

Deno.test('rule "order": indexes 0..n-1 in order', () => {
  const m = webManifest(1500);
  m.chunks.reverse();
  assertRefused(m, "order", "chunk 2 is listed in position 0; list them 0, 1, 2…");
});

Deno.test('rule "one object per chunk": two chunks naming one object', () => {
  const m = webManifest(1500);
  m.chunks[2].path = m.chunks[0].path;
  assertRefused(m, "one object per chunk", "chunk 2 names the object of chunk 0");
});

Deno.test('rule "window": a chunk ending before it starts', () => {
  assertRefused(
    manifest(20, [[5, 5]]),
    "window",
    "chunk 0 ends at 5 s, not after its start 5 s",
  );
});

Deno.test('rule "starts at 0": the first chunk from 0', () => {
  assertRefused(manifest(30, [[5, 30]]), "starts at 0", "chunk 0 starts at 5 s, not at 0");
});

Deno.test('rule "no gap": each chunk starts no later than its predecessor ends', () => {
  assertRefused(
    manifest(1000, [[0, 600], [630, 1000]]),
    "no gap",
    "chunk 1 starts at 630 s, after chunk 0 ends (600 s)",
  );
});

Deno.test('rule "bounded overlap": at most 10 s with the chunk before', () => {
  assertRefused(
    manifest(1000, [[0, 600], [540, 1000, 60]]),
    "bounded overlap",
    "chunk 1 overlaps chunk 0 by 60 s, more than 10 s",
  );
  assertRefused(
    manifest(1000, [[0, 600], [597, 1000, 60]]),
    "bounded overlap",
    "chunk 1 declares overlap_before 60 s, more than 10 s",
  );
});

Deno.test('rule "moves on": a window inside the one before', () => {
  assertRefused(
    manifest(600, [[0, 600], [595, 599], [598, 600]]),
    "moves on",
    "chunk 1 ends at 599 s, not after chunk 0 (600 s)",
  );
});

Deno.test('rule "longest chunk": none longer than 10 minutes plus 10 s', () => {
  assertRefused(
    manifest(1000, [[0, 700], [695, 1000]]),
    "longest chunk",
    "chunk 0 is 700 s long, more than 610 s",
  );
});

Deno.test('rule "shortest chunk": every chunk but the last at least 60 s', () => {
  assertRefused(
    manifest(100, [[0, 30], [28, 100]]),
    "shortest chunk",
    "chunk 0 is 30 s long; every chunk but the last must be at least 60 s",
  );
  // Issue 24's script (15 s + 12 s, 3 s overlap) is outside the bounds, and now told which.
  assertRefused(
    manifest(27, [[0, 15], [12, 27, 3]]),
    "shortest chunk",
    "chunk 0 is 15 s long; every chunk but the last must be at least 60 s",
  );
});

Deno.test('rule "ends with the audio": the last chunk ends at source.duration', () => {
  // The CLI's report: the container says 25.4 s, the audio track holds 24.73 s.
  assertRefused(
    manifest(25.4, [[0, 24.73]]),
    "ends with the audio",
    "chunk 0 ends at 24.73 s but source.duration says 25.4 s (the audio track's length, not the container's)",
  );
});

Deno.test('rule "probed duration": each object holds what its window says', () => {
  const m = manifest(2400, [[0, 600], [597, 1200, 3], [1197, 1800, 3], [1797, 2400, 3]]);
  const probed = m.chunks.map((c) => c.end - c.start);
  probed[3] = 31;
  assert.deepEqual(refusal(() => checkProbedDurations(m.chunks, probed)), {
    code: "invalid_manifest",
    message: 'chunk 3 is 31.0 s long but its window says 603 s (rule "probed duration")',
  });
});

Deno.test("every rule has its test above", async () => {
  const source = await Deno.readTextFile(new URL(import.meta.url));
  for (const rule of MANIFEST_RULES) assert.ok(source.includes(`rule "${rule}"`), rule);
});
