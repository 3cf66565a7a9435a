/**
 * translate: the fan-in of one language. Its parts (translate_part) are put back on the merged
 * transcript's segments: segment count, timings and speakers kept.
 */
import type { StepOutput } from "../_shared/engine/contract.ts";
import type { StepContext } from "../_shared/engine/step_runtime.ts";
import { stitchTranslation } from "../_shared/subtitles/transcript_parts.ts";

export function translateStep(ctx: StepContext<"translate">): Promise<StepOutput<"translate">> {
  const { language, merge: { transcript }, translate_part } = ctx.input;
  return Promise.resolve({
    language,
    transcript: stitchTranslation(transcript, language, translate_part),
  });
}
