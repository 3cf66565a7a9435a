/**
 * The JSON caption document: what the render step writes as a language's `json` output
 * (captions.ts renderJson), what revise reads back as the transcript to edit, and what the web
 * app's viewer and editor show. The one schema of that contract, imported by server and browser
 * alike (zod only, so the web build bundles it as it is).
 */
import { z } from "zod";

const Seconds = z.number().nonnegative();

/** The JSON caption document. Times in seconds. */
export const CaptionDocument = z.object({
  format: z.literal("ai-subs.transcript"),
  version: z.literal(1),
  language: z.string(),
  duration: Seconds.optional(),
  /** Speakers in order of first appearance, with how long each one talks. */
  speakers: z.array(z.object({ name: z.string(), speakingSeconds: Seconds })),
  segments: z.array(z.object({
    start: Seconds,
    end: Seconds,
    text: z.string(),
    speaker: z.string().optional(),
    /** Only when the engine timed words; interpolated times are never presented as real. */
    words: z.array(z.object({ text: z.string(), start: Seconds, end: Seconds }))
      .optional(),
  })),
  /** The caption cues as laid out for SRT and WebVTT, when given. */
  cues: z.array(z.object({
    start: Seconds,
    end: Seconds,
    lines: z.array(z.string()),
    speaker: z.string().optional(),
  })).optional(),
  /** The rules the cues were laid out with (and the preset they came from). */
  rules: z.object({
    preset: z.string().optional(),
    maxLineChars: z.number(),
    maxLines: z.number(),
    maxCharsPerSecond: z.number(),
    minDuration: z.number(),
    maxDuration: z.number(),
  }).optional(),
  /** Every cue that breaks those rules (captions.ts checkCaptionRules); empty when all obey. */
  violations: z.array(z.object({ cue: z.number().int(), rule: z.string(), detail: z.string() }))
    .optional(),
});
export type CaptionDocument = z.infer<typeof CaptionDocument>;
