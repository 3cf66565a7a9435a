import assert from "node:assert/strict";
import { isSilent, planPieces, SAMPLE_RATE } from "./pieces.ts";

/** A 440 Hz tone of `seconds`, silent during each [start, end) second range in `pauses`. */
function toneWithPauses(seconds: number, pauses: [number, number][]): Int16Array {
  const samples = new Int16Array(seconds * SAMPLE_RATE);
  for (let i = 0; i < samples.length; i++) {
    const t = i / SAMPLE_RATE;
    const paused = pauses.some(([start, end]) => t >= start && t < end);
    samples[i] = paused ? 0 : Math.round(8000 * Math.sin(2 * Math.PI * 440 * t));
  }
  return samples;
}

function seconds(pieces: { start: number; end: number }[]): [number, number][] {
  return pieces.map((p) => [p.start / SAMPLE_RATE, p.end / SAMPLE_RATE]);
}

Deno.test("cuts land in the middle of the pauses inside each 6-15 s window", () => {
  // The pause at 4 s is too early for a 6 s minimum; 9.5, 20 and 31 s are in reach.
  const audio = toneWithPauses(40, [[4, 4.4], [9.5, 9.9], [20, 20.4], [31, 31.4]]);
  const cuts = seconds(planPieces(audio)).slice(0, -1).map(([, end]) => end);
  assert.equal(cuts.length, 3);
  [9.7, 20.2, 31.2].forEach((expected, i) => {
    assert.ok(Math.abs(cuts[i] - expected) <= 0.05, `cut ${i} at ${cuts[i]}, not ${expected}`);
  });
});

Deno.test("pieces cover every sample once and respect the limits without any pause", () => {
  const audio = toneWithPauses(100, []);
  const pieces = planPieces(audio);
  assert.equal(pieces[0].start, 0);
  assert.equal(pieces.at(-1)!.end, audio.length);
  for (let i = 1; i < pieces.length; i++) assert.equal(pieces[i].start, pieces[i - 1].end);
  for (const [start, end] of seconds(pieces)) {
    assert.ok(end - start > 6 - 1e-9 && end - start < 15 + 1e-9, `piece ${start}-${end}`);
  }
});

Deno.test("short audio stays one piece and empty audio none", () => {
  assert.deepEqual(seconds(planPieces(toneWithPauses(12, []))), [[0, 12]]);
  assert.deepEqual(planPieces(new Int16Array(0)), []);
});

Deno.test("silence is recognized as silence, speech-level sound is not", () => {
  assert.ok(isSilent(new Int16Array(SAMPLE_RATE)));
  assert.ok(!isSilent(toneWithPauses(1, [])));
});
