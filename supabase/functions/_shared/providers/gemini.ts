/**
 * Gemini through @google/genai: transcription (audio in, structured JSON segments out) and the
 * text tasks. Small chunks travel inline as base64; larger ones go through the Files API
 * (resumable upload) and are deleted afterwards. A fresh SDK client per call carries that
 * call's timeout and cancellation through a custom fetch, so nothing is shared between calls.
 */
import { PROVIDER_TIMEOUT_MS } from "../engine/limits.ts";
import { type Content, FinishReason, GoogleGenAI, type Part } from "@google/genai";
import { Buffer } from "node:buffer";
import { z } from "zod";
import { type Segment, Transcript } from "../subtitles/transcript.ts";
import { ProviderError } from "./errors.ts";
import {
  applyTranslation,
  EMPTY_SUMMARY,
  hasText,
  jsonSchemaOf,
  parseModelJson,
  summaryInstructions,
  SummaryOutput,
  summaryRequest,
  toSummary,
  translateInBatches,
  type TranslationBatch,
  translationInstructions,
  TranslationOutput,
  translationRequest,
} from "./text_tasks.ts";
import { DEFAULT_RATE_LIMIT_POLICY, type RateLimitPolicy, sleep, Transport } from "./transport.ts";
import type {
  SpeakerHints,
  SummarizeInput,
  Summary,
  TextProvider,
  TranscribeInput,
  TranscriptionProvider,
  TranslateInput,
} from "./types.ts";

export interface GeminiOptions {
  apiKey: string;
  model: string;
  /** Root of the API (default Google's); tests point it at scripts/tests/fakes/gemini_fake.ts. */
  baseUrl?: string;
  /** Bound on each HTTP request. */
  timeoutMs?: number;
  /**
   * Audio up to this size goes inline. A request may carry 20 MB and base64 grows bytes by a
   * third, so 14 MB of audio is the most that fits with the prompt.
   */
  inlineLimitBytes?: number;
  rateLimit?: RateLimitPolicy;
  /** How long to wait for an uploaded file to leave PROCESSING. */
  fileActiveTimeoutMs?: number;
  fetch?: typeof fetch;
}

export const DEFAULT_GEMINI_MODEL = "gemini-2.5-flash";
/** limits.ts: a download and two requests fit the 120 s an invocation may take. */
const DEFAULT_TIMEOUT_MS = PROVIDER_TIMEOUT_MS;
const DEFAULT_INLINE_LIMIT_BYTES = 14_000_000;

/** What the model must answer a transcription with. */
const GeminiTranscription = z.object({
  language: z.string().describe("ISO 639-1 code of the language spoken, for example en or de"),
  segments: z.array(z.object({
    start: z.number().describe("seconds from the beginning of the audio where the segment starts"),
    end: z.number().describe("seconds from the beginning of the audio where the segment ends"),
    speaker: z.string().describe("speaker label: Speaker 1, Speaker 2, ..."),
    text: z.string().describe("the words spoken, verbatim"),
  })),
});
type GeminiTranscription = z.infer<typeof GeminiTranscription>;

const REFUSAL_FINISH_REASONS: ReadonlySet<string> = new Set([
  FinishReason.SAFETY,
  FinishReason.RECITATION,
  FinishReason.BLOCKLIST,
  FinishReason.PROHIBITED_CONTENT,
  FinishReason.SPII,
]);

export class GeminiProvider implements TranscriptionProvider, TextProvider {
  readonly name = "gemini";
  readonly #options: GeminiOptions;

  constructor(options: GeminiOptions) {
    this.#options = options;
  }

  async transcribe(input: TranscribeInput): Promise<Transcript> {
    const { ai, transport } = this.#client(input.signal);
    const rateLimit = this.#options.rateLimit ?? DEFAULT_RATE_LIMIT_POLICY;
    try {
      const inline = input.audio.byteLength <=
        (this.#options.inlineLimitBytes ?? DEFAULT_INLINE_LIMIT_BYTES);
      const uploaded = inline
        ? undefined
        : await transport.retrying(() => this.#upload(ai, input), rateLimit);
      try {
        const audioPart: Part = uploaded
          ? { fileData: { fileUri: uploaded.uri, mimeType: uploaded.mimeType } }
          : {
            inlineData: {
              data: Buffer.from(input.audio.buffer, input.audio.byteOffset, input.audio.byteLength)
                .toString("base64"),
              mimeType: input.mimeType,
            },
          };
        const text = await transport.retrying(
          () =>
            this.#generate(ai, {
              contents: [{
                role: "user",
                parts: [audioPart, { text: transcriptionPrompt(input) }],
              }],
              schema: GeminiTranscription,
              signal: input.signal,
            }),
          rateLimit,
        );
        return toTranscript(parseModelJson(GeminiTranscription, text, "transcript"), input);
      } finally {
        // Best effort: uploaded files expire after 48 h anyway.
        if (uploaded) await ai.files.delete({ name: uploaded.name }).catch(() => {});
      }
    } catch (error) {
      throw transport.toProviderError(error);
    }
  }

  async translate(input: TranslateInput): Promise<Segment[]> {
    if (input.segments.length === 0) return [];
    const instructions = translationInstructions(input.from, input.to);
    return await translateInBatches(input.segments, async (batch: TranslationBatch) => {
      // A client per batch: batches run in parallel and each failure must be read alone.
      const { ai, transport } = this.#client(input.signal);
      try {
        const text = await transport.retrying(
          () =>
            this.#generate(ai, {
              contents: [{ role: "user", parts: [{ text: translationRequest(batch) }] }],
              systemInstruction: instructions,
              schema: TranslationOutput,
              signal: input.signal,
            }),
          this.#options.rateLimit ?? DEFAULT_RATE_LIMIT_POLICY,
        );
        return applyTranslation(batch, parseModelJson(TranslationOutput, text, "translation"));
      } catch (error) {
        throw transport.toProviderError(error);
      }
    });
  }

  async summarize(input: SummarizeInput): Promise<Summary> {
    if (!hasText(input.transcript.segments)) return EMPTY_SUMMARY;
    const { ai, transport } = this.#client(input.signal);
    try {
      const text = await transport.retrying(
        () =>
          this.#generate(ai, {
            contents: [{ role: "user", parts: [{ text: summaryRequest(input.transcript) }] }],
            systemInstruction: summaryInstructions(input.language),
            schema: SummaryOutput,
            signal: input.signal,
          }),
        this.#options.rateLimit ?? DEFAULT_RATE_LIMIT_POLICY,
      );
      return toSummary(parseModelJson(SummaryOutput, text, "summary"));
    } catch (error) {
      throw transport.toProviderError(error);
    }
  }

  #client(signal?: AbortSignal): { ai: GoogleGenAI; transport: Transport } {
    const transport = new Transport({
      timeoutMs: this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      signal,
      fetch: this.#options.fetch,
    });
    const ai = new GoogleGenAI({
      apiKey: this.#options.apiKey,
      httpOptions: {
        // Pinned: the SDK's default (v1) lacks parts of the Files API and structured output.
        apiVersion: "v1beta",
        ...(this.#options.baseUrl ? { baseUrl: this.#options.baseUrl } : {}),
        fetch: transport.fetch,
      },
    });
    return { ai, transport };
  }

  /** One generateContent call; returns the answer's text or throws what the answer means. */
  async #generate(ai: GoogleGenAI, request: {
    contents: Content[];
    schema: z.ZodType;
    systemInstruction?: string;
    signal?: AbortSignal;
  }): Promise<string | undefined> {
    const response = await ai.models.generateContent({
      model: this.#options.model,
      contents: request.contents,
      config: {
        responseMimeType: "application/json",
        responseJsonSchema: jsonSchemaOf(request.schema),
        ...(request.systemInstruction ? { systemInstruction: request.systemInstruction } : {}),
        ...(request.signal ? { abortSignal: request.signal } : {}),
      },
    });
    const blockReason = response.promptFeedback?.blockReason;
    if (blockReason) {
      throw new ProviderError("provider_refused", `Gemini refused the request (${blockReason})`);
    }
    const candidate = response.candidates?.[0];
    const finishReason = candidate?.finishReason;
    if (finishReason && REFUSAL_FINISH_REASONS.has(finishReason)) {
      throw new ProviderError("provider_refused", `Gemini stopped the answer (${finishReason})`);
    }
    if (finishReason === FinishReason.LANGUAGE) {
      throw new ProviderError("unsupported_language", "Gemini does not support this language");
    }
    if (finishReason === FinishReason.MAX_TOKENS) {
      throw new ProviderError(
        "malformed_output",
        "Gemini's answer was cut off at the output token limit (truncated JSON)",
      );
    }
    const parts = candidate?.content?.parts ?? [];
    const texts = parts.filter((p) => typeof p.text === "string" && !p.thought).map((p) => p.text);
    return texts.length > 0 ? texts.join("") : undefined;
  }

  /** Files API upload, then wait until the file can be used. */
  async #upload(
    ai: GoogleGenAI,
    input: TranscribeInput,
  ): Promise<{ name: string; uri: string; mimeType: string }> {
    const bytes = new Uint8Array(input.audio.byteLength);
    bytes.set(input.audio);
    let file = await ai.files.upload({
      file: new Blob([bytes], { type: input.mimeType }),
      config: { mimeType: input.mimeType, displayName: input.filename },
    });
    // Short enough that upload, wait and answer stay inside the invocation budget (limits.ts).
    const deadline = Date.now() + (this.#options.fileActiveTimeoutMs ?? 20_000);
    while (file.state === "PROCESSING" && file.name && Date.now() < deadline) {
      await sleep(1_000, input.signal);
      file = await ai.files.get({ name: file.name });
    }
    if (file.state === "FAILED") {
      throw new ProviderError(
        "unreadable_media",
        `Gemini could not process the uploaded audio: ${file.error?.message ?? "FAILED"}`,
      );
    }
    if (file.state === "PROCESSING") {
      throw new ProviderError("provider_timeout", "uploaded audio is still processing");
    }
    if (!file.name || !file.uri) {
      throw new ProviderError("malformed_output", "Files API answered without a file name or uri");
    }
    return { name: file.name, uri: file.uri, mimeType: file.mimeType ?? input.mimeType };
  }
}

function transcriptionPrompt(input: TranscribeInput): string {
  const language = input.language
    ? `The audio is in the language "${input.language}"; transcribe it in that language and ` +
      `report "${input.language}" as the language.`
    : "Detect the language spoken and transcribe in that language; report its ISO 639-1 code.";
  return [
    "Transcribe this audio verbatim. Never translate, summarise or correct what is said.",
    language,
    "Split the transcript into segments at sentence ends and at every change of speaker; keep",
    "each segment under about 15 seconds. For each segment give start and end in seconds from",
    "the beginning of this audio (decimals allowed), the speaker, and the exact words spoken.",
    speakerInstruction(input.speakers),
    "Leave out music, noise and silence. If nothing is spoken, return no segments.",
  ].join(" ");
}

function speakerInstruction(hints?: SpeakerHints): string {
  const base = 'Label speakers "Speaker 1", "Speaker 2", ... in order of first appearance.';
  if (hints?.num) return `${base} There are exactly ${hints.num} speakers.`;
  if (hints?.min && hints?.max) {
    return `${base} There are between ${hints.min} and ${hints.max} speakers.`;
  }
  if (hints?.min) return `${base} There are at least ${hints.min} speakers.`;
  if (hints?.max) return `${base} There are at most ${hints.max} speakers.`;
  return base;
}

function toTranscript(output: GeminiTranscription, input: TranscribeInput): Transcript {
  const segments = output.segments
    .filter((segment) => segment.text.trim() !== "")
    .map((segment) => ({
      start: segment.start,
      // Models now and then give an end before the start; the start is the better anchor.
      end: Math.max(segment.start, segment.end),
      text: segment.text.trim(),
      ...(segment.speaker.trim() ? { speaker: segment.speaker.trim() } : {}),
    }))
    .sort((a, b) => a.start - b.start);
  // A forced language is what the submitter asked for; the model's echo of it adds nothing.
  const language = input.language ?? (output.language.trim().toLowerCase() || "und");
  const parsed = Transcript.safeParse({ language, segments });
  if (!parsed.success) {
    throw new ProviderError(
      "malformed_output",
      `Gemini transcript is off-schema: ${z.prettifyError(parsed.error)}`,
    );
  }
  return parsed.data;
}
