/**
 * The transcript model every step shares: providers produce it per chunk, merge stitches it,
 * translate keeps its timings, render turns it into captions. Times are seconds from the start
 * of the whole recording (providers return chunk-relative times; transcribe shifts them).
 */
import { z } from "zod";

export const Word = z.object({
  text: z.string(),
  start: z.number().nonnegative(),
  end: z.number().nonnegative(),
});
export type Word = z.infer<typeof Word>;

export const Segment = z.object({
  start: z.number().nonnegative(),
  end: z.number().nonnegative(),
  text: z.string(),
  /** Speaker label as the engine gave it ("A", "Speaker 1"); merge makes them consistent. */
  speaker: z.string().optional(),
  /** Word timings when the engine gives them; captions interpolate otherwise. */
  words: z.array(Word).optional(),
});
export type Segment = z.infer<typeof Segment>;

export const Transcript = z.object({
  /** BCP-47-ish language code ("en", "de") as detected or forced. */
  language: z.string(),
  segments: z.array(Segment),
  /** Seconds covered by this transcript, when known. */
  duration: z.number().nonnegative().optional(),
});
export type Transcript = z.infer<typeof Transcript>;

/** `t` with every time moved by `offset` seconds (to the millisecond). */
export function shiftTranscript(t: Transcript, offset: number): Transcript {
  const at = (s: number) => Math.round((s + offset) * 1000) / 1000;
  return {
    ...t,
    segments: t.segments.map((s) => ({
      ...s,
      start: at(s.start),
      end: at(s.end),
      words: s.words?.map((w) => ({ ...w, start: at(w.start), end: at(w.end) })),
    })),
  };
}
