/**
 * merge: the chunks' transcripts stitched into one (see ../merge.ts for how), and the parts
 * of it that translation and summary fan out over (../transcript_parts.ts). A recording in
 * which no chunk heard a word ends here as `no_speech`, rather than as empty subtitles the
 * user would take for a successful job.
 */
import type { StepOutput } from "../_shared/engine/contract.ts";
import { StepError } from "../_shared/engine/failure.ts";
import { mergeChunks } from "../_shared/subtitles/chunk_merge.ts";
import type { StepContext } from "../_shared/engine/step_runtime.ts";
import { shiftTranscript } from "../_shared/subtitles/transcript.ts";
import { planParts } from "../_shared/subtitles/transcript_parts.ts";

export function mergeStep(
  ctx: StepContext<"merge">,
): Promise<StepOutput<"merge">> {
  const chunks = ctx.input.transcribe;
  const merged = mergeChunks(chunks.map(({ chunk, transcript }) => ({
    index: chunk.index,
    start: chunk.start,
    end: chunk.end,
    overlapStart: chunk.overlap_before,
    transcript,
  })));
  // Chunk times are on the audio's timeline; the outputs are on the video's (audio_start).
  const audioStart = chunks[0]?.chunk.audio_start ?? 0;
  const transcript = audioStart > 0
    ? {
      ...shiftTranscript(merged, audioStart),
      duration: (merged.duration ?? 0) + audioStart,
    }
    : merged;
  if (!transcript.segments.some((s) => s.text.trim() !== "")) {
    return Promise.reject(
      new StepError(
        "no_speech",
        `no words in ${chunks.length} transcribed chunk(s)`,
      ),
    );
  }
  // The parts of the transcript that translation and summary fan out over.
  return Promise.resolve({
    transcript,
    ...planParts(transcript, ctx.claim.job.options),
  });
}
