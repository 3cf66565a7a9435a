/** translate_part: one part of the merged transcript into one language (text only). */
import type { StepOutput } from "../_shared/engine/contract.ts";
import { textProviderFromEnv } from "../_shared/providers/config.ts";
import type { StepContext } from "../_shared/engine/step_runtime.ts";
import { partOf } from "../_shared/subtitles/transcript_parts.ts";

export async function translatePartStep(
  ctx: StepContext<"translate_part">,
): Promise<StepOutput<"translate_part">> {
  const { part, merge: { transcript } } = ctx.input;
  ctx.progress(0.1, `Translating to ${part.language}`);
  const segments = await textProviderFromEnv().translate({
    segments: partOf(transcript, part).segments,
    from: transcript.language,
    to: part.language,
    signal: ctx.signal,
  });
  return { texts: segments.map((s) => s.text) };
}
