/**
 * The parts of translate and summarize that do not depend on the model vendor: prompts, the
 * JSON the model must answer with (zod, turned into JSON Schema for structured output), how a
 * long transcript is cut into translation batches, and how answers are checked and mapped back.
 */
import { z } from "zod";
import type { Segment, Transcript } from "../subtitles/transcript.ts";
import { ProviderError } from "./errors.ts";
import { Summary } from "./types.ts";

/** JSON Schema for a vendor's structured-output option, without the `$schema` tag some reject. */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema) as Record<string, unknown>;
  return rest;
}

/**
 * Parse the model's JSON answer. Anything unparseable or off-schema is `malformed_output`
 * (retryable: the next sample usually is fine).
 */
export function parseModelJson<T>(schema: z.ZodType<T>, text: string | undefined, what: string): T {
  if (text === undefined || text.trim() === "") {
    throw new ProviderError("malformed_output", `model returned no ${what}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ProviderError(
      "malformed_output",
      `model returned ${what} that is not valid JSON (${text.length} chars)`,
      { cause: error },
    );
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new ProviderError(
      "malformed_output",
      `model returned ${what} off-schema: ${z.prettifyError(parsed.error)}`,
    );
  }
  return parsed.data;
}

// ---- translate -------------------------------------------------------------------------------

/** Every field required and no optionals: what strict structured output accepts. */
export const TranslationOutput = z.object({
  translations: z.array(z.object({
    id: z.number().int().describe("the id of the input segment"),
    text: z.string().describe("the translated text of that segment"),
  })),
});
export type TranslationOutput = z.infer<typeof TranslationOutput>;

export function translationInstructions(from: string, to: string): string {
  return [
    `You translate subtitle segments from the language "${from}" into the language "${to}".`,
    'The user message is JSON: {"segments": [{"id": number, "text": string}]}.',
    "Answer with exactly one translation per input segment, with the same id, in the same order.",
    "Keep each translation within its own segment (do not move words between segments), keep it",
    "about as long as the original so it fits the same subtitle timing, and translate names and",
    "numbers naturally. Do not add notes, explanations or quotes.",
  ].join(" ");
}

export interface TranslationBatch {
  /** Index in the full list of the batch's first segment; ids in the request are these. */
  offset: number;
  segments: Segment[];
}

/** Batches small enough for one answer to fit comfortably in a model's output limit. */
export function translationBatches(segments: Segment[], maxChars = 6_000): TranslationBatch[] {
  const batches: TranslationBatch[] = [];
  let current: TranslationBatch = { offset: 0, segments: [] };
  let chars = 0;
  segments.forEach((segment, index) => {
    if (current.segments.length > 0 && chars + segment.text.length > maxChars) {
      batches.push(current);
      current = { offset: index, segments: [] };
      chars = 0;
    }
    current.segments.push(segment);
    chars += segment.text.length;
  });
  if (current.segments.length > 0) batches.push(current);
  return batches;
}

/** The user message for one batch: pure JSON, so the model (and the fakes) read it exactly. */
export function translationRequest(batch: TranslationBatch): string {
  return JSON.stringify({
    segments: batch.segments.map((segment, i) => ({ id: batch.offset + i, text: segment.text })),
  });
}

/** Put the translated text on the original segments; timings and speakers stay as they were. */
export function applyTranslation(batch: TranslationBatch, output: TranslationOutput): Segment[] {
  const byId = new Map(output.translations.map((t) => [t.id, t.text]));
  return batch.segments.map((segment, i) => {
    const text = byId.get(batch.offset + i);
    if (text === undefined) {
      throw new ProviderError(
        "malformed_output",
        `translation is missing segment ${
          batch.offset + i
        } (got ${output.translations.length} of ${batch.segments.length})`,
      );
    }
    const { words: _, ...timing } = segment;
    // Word timings belong to the source words; captions interpolate the translated text.
    return { ...timing, text: text.trim() };
  });
}

/** Run batch translations with a little parallelism and reassemble them in order. */
export async function translateInBatches(
  segments: Segment[],
  translateBatch: (batch: TranslationBatch) => Promise<Segment[]>,
  concurrency = 3,
): Promise<Segment[]> {
  const batches = translationBatches(segments);
  const results: Segment[][] = new Array(batches.length);
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const index = next++;
      results[index] = await translateBatch(batches[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));
  return results.flat();
}

// ---- summarize -------------------------------------------------------------------------------

export const SummaryOutput = z.object({
  summary: z.string().describe("a few paragraphs summarising the whole recording"),
  chapters: z.array(z.object({
    start: z.number().describe("seconds from the start of the recording where the chapter begins"),
    title: z.string().describe("a short chapter title"),
    summary: z.string().describe("one or two sentences on the chapter; may be empty"),
  })),
  keyPoints: z.array(z.string()).describe("the most important points, one sentence each"),
});
export type SummaryOutput = z.infer<typeof SummaryOutput>;

export function summaryInstructions(language: string): string {
  return [
    "You summarise transcripts of recordings. Each line of the user message is",
    '"[start seconds] speaker: text".',
    `Write everything in the language "${language}".`,
    "Give a summary, chapters in order (the first starting at or near 0, each start taken from",
    "a line where the topic changes, roughly one chapter per 5 to 15 minutes), and 3 to 10 key",
    "points. Use only what is said in the transcript; invent nothing.",
  ].join(" ");
}

export function summaryRequest(transcript: Transcript): string {
  return transcript.segments
    .map((s) => `[${s.start.toFixed(1)}] ${s.speaker ?? "Speaker"}: ${s.text}`)
    .join("\n");
}

export function toSummary(output: SummaryOutput): Summary {
  const chapters = output.chapters
    .filter((chapter) => chapter.title.trim() !== "")
    .map((chapter) => ({
      start: Math.max(0, chapter.start),
      title: chapter.title.trim(),
      ...(chapter.summary.trim() ? { summary: chapter.summary.trim() } : {}),
    }))
    .sort((a, b) => a.start - b.start);
  return Summary.parse({ summary: output.summary.trim(), chapters, keyPoints: output.keyPoints });
}

/** What an honest summary of a transcript without speech is. */
export const EMPTY_SUMMARY: Summary = { summary: "", chapters: [], keyPoints: [] };

export function hasText(segments: Segment[]): boolean {
  return segments.some((s) => s.text.trim() !== "");
}
