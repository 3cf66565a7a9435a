/**
 * What the pipeline steps ask of an engine. `transcribe` turns one audio chunk into a transcript
 * with chunk-relative times; `TextProvider` translates and summarises finished transcripts.
 * Implementations: gemini.ts, openai.ts (also the offline server); config.ts picks one from env.
 * Every method throws `ProviderError` (errors.ts) for anything the caller has to decide about.
 */
import { z } from "zod";
import type { Segment, Transcript } from "../subtitles/transcript.ts";

export interface SpeakerHints {
  /** Exact number of speakers, when the submitter knows it. */
  num?: number;
  min?: number;
  max?: number;
}

export interface TranscribeInput {
  audio: Uint8Array;
  mimeType: string;
  filename: string;
  /** Language code ("en", "de"); undefined lets the engine detect it. */
  language?: string;
  speakers?: SpeakerHints;
  signal?: AbortSignal;
}

export interface TranscriptionProvider {
  /** Stable name for logs and results ("gemini", "openai", "offline"). */
  readonly name: string;
  /** Times in the result are seconds from the start of this chunk. */
  transcribe(input: TranscribeInput): Promise<Transcript>;
}

export interface TranslateInput {
  segments: Segment[];
  from: string;
  to: string;
  signal?: AbortSignal;
}

export interface SummarizeInput {
  transcript: Transcript;
  /** Language the summary is written in. */
  language: string;
  signal?: AbortSignal;
}

export const Chapter = z.object({
  /** Seconds from the start of the recording. */
  start: z.number().nonnegative(),
  title: z.string().min(1),
  summary: z.string().optional(),
});
export type Chapter = z.infer<typeof Chapter>;

export const Summary = z.object({
  summary: z.string(),
  chapters: z.array(Chapter),
  keyPoints: z.array(z.string()),
});
export type Summary = z.infer<typeof Summary>;

export interface TextProvider {
  readonly name: string;
  /** Same number of segments with the same timings and speakers; only the text is translated. */
  translate(input: TranslateInput): Promise<Segment[]>;
  summarize(input: SummarizeInput): Promise<Summary>;
}
