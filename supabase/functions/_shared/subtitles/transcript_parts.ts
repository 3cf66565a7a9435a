/**
 * How merge cuts a long transcript into parts for translate_part and summarize_part, so that
 * each of those tasks makes a bounded number of provider requests and finishes well inside a
 * function's wall clock (150 s on hosted), whatever the recording's length. A part is a range
 * of whole segments: timings never move, and the fan-in puts every segment back in its place.
 */
import { z } from "zod";
import type { Segment, Transcript } from "./transcript.ts";

/**
 * Text per translation part: three of translateInBatches' 6,000-character batches, which it
 * sends at once, so one part is one round trip to the provider (plus a retry inside 150 s).
 */
export const TRANSLATE_PART_CHARS = 18_000;
/** Text per summary part: about 30 minutes of speech, one request. */
export const SUMMARY_PART_CHARS = 30_000;

/** Segments [from, to) of the merged transcript, and the times they cover. */
export const SegmentRange = z.object({
  index: z.number().int().nonnegative(),
  from: z.number().int().nonnegative(),
  to: z.number().int().positive(),
  start: z.number().nonnegative(),
  end: z.number().nonnegative(),
});
export type SegmentRange = z.infer<typeof SegmentRange>;

export const TranslatePart = SegmentRange.extend({ language: z.string() });
export type TranslatePart = z.infer<typeof TranslatePart>;

/** Consecutive ranges covering every segment once, each at most `maxChars` (or one segment). */
export function segmentRanges(segments: Segment[], maxChars: number): SegmentRange[] {
  const ranges: SegmentRange[] = [];
  let from = 0;
  let chars = 0;
  const close = (to: number) => {
    ranges.push({
      index: ranges.length,
      from,
      to,
      start: segments[from].start,
      end: segments[to - 1].end,
    });
    from = to;
    chars = 0;
  };
  segments.forEach((segment, i) => {
    if (i > from && chars + segment.text.length > maxChars) close(i);
    chars += segment.text.length;
  });
  if (from < segments.length) close(segments.length);
  return ranges;
}

/** The parts merge plans: every language × every translation range, and the summary ranges. */
export function planParts(
  transcript: Transcript,
  options: { translate_to: string[]; summarize: boolean },
): { translate_parts: TranslatePart[]; summary_parts: SegmentRange[] } {
  const ranges = segmentRanges(transcript.segments, TRANSLATE_PART_CHARS);
  const translate_parts = options.translate_to.flatMap((language) =>
    ranges.map((range) => ({ ...range, language }))
  ).map((part, index) => ({ ...part, index }));
  const summary_parts = options.summarize
    ? segmentRanges(transcript.segments, SUMMARY_PART_CHARS)
    : [];
  return { translate_parts, summary_parts };
}

/** The part's slice of the transcript, with the transcript's own (absolute) times. */
export function partOf(transcript: Transcript, part: SegmentRange): Transcript {
  return {
    language: transcript.language,
    duration: transcript.duration,
    segments: transcript.segments.slice(part.from, part.to),
  };
}

/**
 * The fan-in of one language: its parts' texts put back on the source segments, whose
 * timings and speakers stay as they were. Fails when the parts do not cover every segment
 * exactly once.
 */
export function stitchTranslation(
  source: Transcript,
  language: string,
  parts: { part: TranslatePart; texts: string[] }[],
): Transcript {
  const texts: (string | undefined)[] = new Array(source.segments.length);
  for (const { part, texts: partTexts } of parts) {
    if (part.language !== language) continue;
    if (partTexts.length !== part.to - part.from) {
      throw new Error(
        `part ${part.index} has ${partTexts.length} texts for ${part.to - part.from}`,
      );
    }
    partTexts.forEach((text, i) => {
      if (texts[part.from + i] !== undefined) throw new Error(`segment ${part.from + i} twice`);
      texts[part.from + i] = text;
    });
  }
  const missing = texts.findIndex((t) => t === undefined);
  if (source.segments.length > 0 && (missing >= 0 || texts.length !== source.segments.length)) {
    throw new Error(`translation to ${language} is missing segment ${missing}`);
  }
  return {
    language,
    duration: source.duration,
    segments: source.segments.map((s, i) => ({
      start: s.start,
      end: s.end,
      speaker: s.speaker,
      text: texts[i] ?? "",
    })),
  };
}
