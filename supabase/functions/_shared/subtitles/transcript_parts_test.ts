import assert from "node:assert/strict";
import {
  planParts,
  segmentRanges,
  stitchTranslation,
  TRANSLATE_PART_CHARS,
  type TranslatePart,
} from "./transcript_parts.ts";
import type { Transcript } from "./transcript.ts";

const transcript: Transcript = {
  language: "en",
  duration: 40,
  segments: Array.from({ length: 8 }, (_, i) => ({
    start: i * 5,
    end: i * 5 + 4.5,
    text: `segment ${i} ${"x".repeat(10)}`,
    speaker: `Speaker ${(i % 2) + 1}`,
  })),
};

Deno.test("ranges cover every segment once, in order, within the size", () => {
  const ranges = segmentRanges(transcript.segments, 45);
  assert.deepEqual(ranges.map((r) => [r.from, r.to]), [[0, 2], [2, 4], [4, 6], [6, 8]]);
  assert.deepEqual(ranges.map((r) => [r.start, r.end]), [[0, 9.5], [10, 19.5], [20, 29.5], [
    30,
    39.5,
  ]]);
  // A segment longer than the size is a part of its own.
  assert.deepEqual(segmentRanges(transcript.segments, 1).length, 8);
  assert.deepEqual(segmentRanges([], 45), []);
});

Deno.test("merge plans every language times every range, and the summary ranges", () => {
  const plan = planParts(transcript, { translate_to: ["fr", "de"], summarize: true });
  assert.deepEqual(plan.translate_parts.map((p) => `${p.index}:${p.language}`), ["0:fr", "1:de"]);
  assert.equal(plan.summary_parts.length, 1);
  assert.deepEqual(planParts(transcript, { translate_to: [], summarize: false }), {
    translate_parts: [],
    summary_parts: [],
  });
  assert.ok(TRANSLATE_PART_CHARS >= 6_000);
});

Deno.test("stitching keeps every cue's time across part boundaries", () => {
  const parts = segmentRanges(transcript.segments, 45).map((r, index) => ({
    part: { ...r, index, language: "fr" } as TranslatePart,
    texts: transcript.segments.slice(r.from, r.to).map((s) => `fr ${s.text}`),
  }));
  const other = { part: { ...parts[0].part, language: "de" }, texts: ["a", "b"] };
  const fr = stitchTranslation(transcript, "fr", [parts[2], other, parts[0], parts[3], parts[1]]);
  assert.equal(fr.language, "fr");
  fr.segments.forEach((s, i) => {
    const src = transcript.segments[i];
    assert.deepEqual([s.start, s.end, s.speaker, s.text], [
      src.start,
      src.end,
      src.speaker,
      `fr ${src.text}`,
    ]);
  });
});

Deno.test("stitching refuses a missing or doubled part", () => {
  const parts = segmentRanges(transcript.segments, 45).map((r, index) => ({
    part: { ...r, index, language: "fr" } as TranslatePart,
    texts: transcript.segments.slice(r.from, r.to).map((s) => s.text),
  }));
  assert.throws(() => stitchTranslation(transcript, "fr", parts.slice(1)), /missing segment 0/);
  assert.throws(() => stitchTranslation(transcript, "fr", [...parts, parts[1]]), /twice/);
  assert.throws(
    () => stitchTranslation(transcript, "fr", [{ ...parts[0], texts: ["one"] }]),
    /has 1 texts/,
  );
});
