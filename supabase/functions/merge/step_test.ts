import assert from "node:assert/strict";
import type { StepContext } from "../_shared/engine/step_runtime.ts";
import { mergeStep } from "./step.ts";

/** merge's context for chunks of a recording whose audio starts `audioStart` s into the video. */
function context(audioStart: number | undefined): StepContext<"merge"> {
  const chunk = (index: number, start: number, end: number) => ({
    index,
    path: `u/j/chunk-${index}.m4a`,
    start,
    end,
    overlap_before: index === 0 ? 0 : 3,
    audio_start: audioStart,
  });
  return {
    claim: { job: { options: { translate_to: [], summarize: false } } },
    input: {
      transcribe: [
        {
          chunk: chunk(0, 0, 600),
          transcript: {
            language: "en",
            duration: 600,
            segments: [{
              start: 1.5,
              end: 3,
              text: "hello there",
              words: [{ text: "hello", start: 1.5, end: 2 }, {
                text: "there",
                start: 2.2,
                end: 3,
              }],
            }],
          },
        },
        {
          chunk: chunk(1, 597, 700),
          transcript: {
            language: "en",
            duration: 103,
            segments: [{ start: 650, end: 651, text: "goodbye" }],
          },
        },
      ],
    },
  } as unknown as StepContext<"merge">;
}

Deno.test("merge: cue times move by the manifest's audio_start, so they match the video", async () => {
  const plain = await mergeStep(context(undefined));
  const late = await mergeStep(context(2));
  const times = (t: typeof plain.transcript) =>
    t.segments.map((
      s,
    ) => [s.start, s.end, ...(s.words ?? []).map((w) => w.start)]);
  assert.deepEqual(times(plain.transcript), [[1.5, 3, 1.5, 2.2], [650, 651]]);
  assert.deepEqual(times(late.transcript), [[3.5, 5, 3.5, 4.2], [652, 653]]);
  assert.equal(late.transcript.duration, (plain.transcript.duration ?? 0) + 2);
});
