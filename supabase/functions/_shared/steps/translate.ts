/** translate: one target language; segment count, timings and speakers kept. */
import type { StepOutput } from "../contract.ts";
import { textProviderFromEnv } from "../providers/config.ts";
import type { StepContext } from "../step_runtime.ts";

export async function translateStep(
  ctx: StepContext<"translate">,
): Promise<StepOutput<"translate">> {
  const { language, merge: { transcript } } = ctx.input;
  ctx.progress(0.1, `Translating to ${language}`);
  const segments = await textProviderFromEnv().translate({
    segments: transcript.segments,
    from: transcript.language,
    to: language,
    signal: ctx.signal,
  });
  return {
    language,
    transcript: {
      language,
      duration: transcript.duration,
      // Timings and speakers come from the source; only the text is the engine's.
      segments: transcript.segments.map((s, i) => ({
        start: s.start,
        end: s.end,
        speaker: s.speaker,
        text: segments[i]?.text ?? "",
      })),
    },
  };
}
