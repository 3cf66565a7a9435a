/**
 * translate: the fan-in of one language. Its parts (translate_part) are put back on the merged
 * transcript's segments: segment count, timings and speakers kept.
 */
import type { StepOutput } from "../contract.ts";
import type { StepContext } from "../step_runtime.ts";
import { stitchTranslation } from "../transcript_parts.ts";

export function translateStep(ctx: StepContext<"translate">): Promise<StepOutput<"translate">> {
  const { language, merge: { transcript }, translate_part } = ctx.input;
  return Promise.resolve({
    language,
    transcript: stitchTranslation(transcript, language, translate_part),
  });
}
