/**
 * summarize: the fan-in of the parts' summaries (summarize_part). One part is the summary; more
 * are reduced by one more request over the parts' summaries (each at its part's start), and
 * the parts' chapters, already at their times in the recording, are kept in order.
 */
import type { StepOutput } from "../_shared/engine/contract.ts";
import { textProviderFromEnv } from "../_shared/providers/config.ts";
import type { StepContext } from "../_shared/engine/step_runtime.ts";

export async function summarizeStep(
  ctx: StepContext<"summarize">,
): Promise<StepOutput<"summarize">> {
  const { merge: { transcript }, summarize_part: parts } = ctx.input;
  if (parts.length === 1) {
    const { part: _, ...summary } = parts[0];
    return summary;
  }
  ctx.progress(0.1, "Summarising");
  const reduced = await textProviderFromEnv().summarize({
    transcript: {
      language: transcript.language,
      duration: transcript.duration,
      segments: parts.map((p) => ({ start: p.part.start, end: p.part.end, text: p.summary })),
    },
    language: transcript.language,
    signal: ctx.signal,
  });
  return {
    summary: reduced.summary,
    chapters: parts.flatMap((p) => p.chapters).sort((a, b) => a.start - b.start),
    keyPoints: reduced.keyPoints,
  };
}
