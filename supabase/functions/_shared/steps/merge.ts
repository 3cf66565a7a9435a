/** merge: the chunks' transcripts stitched into one (see ../merge.ts for how). */
import type { StepOutput } from "../contract.ts";
import { mergeChunks } from "../merge.ts";
import type { StepContext } from "../step_runtime.ts";

export function mergeStep(ctx: StepContext<"merge">): Promise<StepOutput<"merge">> {
  const transcript = mergeChunks(ctx.input.chunks.map((c) => ({
    index: c.index,
    start: c.start,
    end: c.end,
    overlapStart: c.overlap_before,
    transcript: c.transcript,
  })));
  return Promise.resolve({ transcript });
}
