/** summarize: summary, chapters with start times, key points. */
import type { StepOutput } from "../contract.ts";
import { textProviderFromEnv } from "../providers/config.ts";
import type { StepContext } from "../step_runtime.ts";

export function summarizeStep(ctx: StepContext<"summarize">): Promise<StepOutput<"summarize">> {
  ctx.progress(0.1, "Summarising");
  const { transcript } = ctx.input.merge;
  return textProviderFromEnv().summarize({
    transcript,
    language: transcript.language,
    signal: ctx.signal,
  });
}
