/** summarize_part: the summary, chapters and key points of one part of the transcript. */
import type { StepOutput } from "../_shared/engine/contract.ts";
import { textProviderFromEnv } from "../_shared/providers/config.ts";
import type { StepContext } from "../_shared/engine/step_runtime.ts";
import { partOf } from "../_shared/subtitles/transcript_parts.ts";

export function summarizePartStep(
  ctx: StepContext<"summarize_part">,
): Promise<StepOutput<"summarize_part">> {
  ctx.progress(0.1, "Summarising");
  const { part, merge: { transcript } } = ctx.input;
  return textProviderFromEnv().summarize({
    transcript: partOf(transcript, part),
    language: transcript.language,
    signal: ctx.signal,
  });
}
