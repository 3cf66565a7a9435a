/** translate_part: one part of the merged transcript into one language (text only). */
import type { StepOutput } from "../contract.ts";
import { textProviderFromEnv } from "../providers/config.ts";
import type { StepContext } from "../step_runtime.ts";
import { partOf } from "../transcript_parts.ts";

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
