/**
 * Any OpenAI-compatible server: OpenAI, Groq, self-hosted whisper servers and the project's
 * offline PocketSphinx server (scripts/ship/asr/). Transcription is `POST /v1/audio/transcriptions`
 * with `verbose_json` and word + segment timestamps; text tasks are `POST /v1/chat/completions`
 * with a strict `json_schema` response format. The bearer key is optional because local
 * servers have none.
 */
import { PROVIDER_TIMEOUT_MS } from "../engine/limits.ts";
import { z } from "zod";
import { type Segment, Transcript, type Word } from "../subtitles/transcript.ts";
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
  translationInstructions,
  TranslationOutput,
  translationRequest,
} from "./text_tasks.ts";
import { DEFAULT_RATE_LIMIT_POLICY, type RateLimitPolicy, Transport } from "./transport.ts";
import type {
  SummarizeInput,
  Summary,
  TextProvider,
  TranscribeInput,
  TranscriptionProvider,
  TranslateInput,
} from "./types.ts";

export interface OpenAiOptions {
  /** Shown in logs and results: "openai", "groq", "offline". */
  name?: string;
  /** Server root, with or without a trailing `/v1` ("https://api.groq.com/openai/v1" works). */
  baseUrl: string;
  apiKey?: string;
  /** Model for /v1/audio/transcriptions (must support verbose_json, e.g. whisper-1). */
  transcribeModel?: string;
  /** Model for /v1/chat/completions. */
  chatModel?: string;
  timeoutMs?: number;
  rateLimit?: RateLimitPolicy;
  fetch?: typeof fetch;
}

export const DEFAULT_OPENAI_BASE_URL = "https://api.openai.com";
export const DEFAULT_OPENAI_TRANSCRIBE_MODEL = "whisper-1";
export const DEFAULT_OPENAI_CHAT_MODEL = "gpt-4.1-mini";
/** limits.ts: a download and two requests fit the 120 s an invocation may take. */
const DEFAULT_TIMEOUT_MS = PROVIDER_TIMEOUT_MS;

/** The verbose_json fields we use; servers add more (tokens, avg_logprob, ...), ignored here. */
const VerboseTranscription = z.object({
  language: z.string().optional(),
  duration: z.number().nonnegative().optional(),
  text: z.string().optional(),
  segments: z.array(z.object({
    start: z.number(),
    end: z.number(),
    text: z.string(),
    speaker: z.string().optional(),
  })).nullish(),
  words: z.array(z.object({ word: z.string(), start: z.number(), end: z.number() })).nullish(),
});
type VerboseTranscription = z.infer<typeof VerboseTranscription>;

const ChatCompletion = z.object({
  choices: z.array(z.object({
    message: z.object({
      content: z.string().nullish(),
      refusal: z.string().nullish(),
    }),
    finish_reason: z.string().nullish(),
  })).min(1),
});

export class OpenAiProvider implements TranscriptionProvider, TextProvider {
  readonly name: string;
  readonly #options: OpenAiOptions;
  readonly #root: string;

  constructor(options: OpenAiOptions) {
    this.name = options.name ?? "openai";
    this.#options = options;
    this.#root = options.baseUrl.replace(/\/+$/, "").replace(/\/v1$/, "");
  }

  async transcribe(input: TranscribeInput): Promise<Transcript> {
    const body = await this.#post(
      "/v1/audio/transcriptions",
      () => {
        // Built per attempt: a FormData body cannot be sent twice.
        const form = new FormData();
        const bytes = new Uint8Array(input.audio.byteLength);
        bytes.set(input.audio);
        form.append("file", new Blob([bytes], { type: input.mimeType }), input.filename);
        form.append("model", this.#options.transcribeModel ?? DEFAULT_OPENAI_TRANSCRIBE_MODEL);
        if (input.language) form.append("language", input.language);
        form.append("response_format", "verbose_json");
        form.append("timestamp_granularities[]", "word");
        form.append("timestamp_granularities[]", "segment");
        return form;
      },
      input.signal,
    );
    const output = parseModelJson(VerboseTranscription, body, "transcript");
    return verboseJsonToTranscript(output, input.language);
  }

  async translate(input: TranslateInput): Promise<Segment[]> {
    if (input.segments.length === 0) return [];
    const instructions = translationInstructions(input.from, input.to);
    return await translateInBatches(input.segments, async (batch) => {
      const content = await this.#chat({
        instructions,
        user: translationRequest(batch),
        schemaName: "translation",
        schema: TranslationOutput,
        signal: input.signal,
      });
      return applyTranslation(batch, parseModelJson(TranslationOutput, content, "translation"));
    });
  }

  async summarize(input: SummarizeInput): Promise<Summary> {
    if (!hasText(input.transcript.segments)) return EMPTY_SUMMARY;
    const content = await this.#chat({
      instructions: summaryInstructions(input.language),
      user: summaryRequest(input.transcript),
      schemaName: "summary",
      schema: SummaryOutput,
      signal: input.signal,
    });
    return toSummary(parseModelJson(SummaryOutput, content, "summary"));
  }

  async #chat(request: {
    instructions: string;
    user: string;
    schemaName: string;
    schema: z.ZodType;
    signal?: AbortSignal;
  }): Promise<string | undefined> {
    const payload = JSON.stringify({
      model: this.#options.chatModel ?? DEFAULT_OPENAI_CHAT_MODEL,
      messages: [
        { role: "system", content: request.instructions },
        { role: "user", content: request.user },
      ],
      response_format: {
        type: "json_schema",
        json_schema: {
          name: request.schemaName,
          strict: true,
          schema: jsonSchemaOf(request.schema),
        },
      },
    });
    const body = await this.#post("/v1/chat/completions", () => payload, request.signal, {
      "content-type": "application/json",
    });
    const completion = parseModelJson(ChatCompletion, body, "chat completion");
    const choice = completion.choices[0];
    if (choice.message.refusal) {
      throw new ProviderError("provider_refused", `model refused: ${choice.message.refusal}`);
    }
    if (choice.finish_reason === "content_filter") {
      throw new ProviderError("provider_refused", "model output was stopped by a content filter");
    }
    if (choice.finish_reason === "length") {
      throw new ProviderError(
        "malformed_output",
        "model answer was cut off at the output token limit (truncated JSON)",
      );
    }
    return choice.message.content ?? undefined;
  }

  async #post(
    path: string,
    body: () => BodyInit,
    signal: AbortSignal | undefined,
    headers: Record<string, string> = {},
  ): Promise<string> {
    const transport = new Transport({
      timeoutMs: this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      signal,
      fetch: this.#options.fetch,
    });
    const authorization: Record<string, string> = this.#options.apiKey
      ? { authorization: `Bearer ${this.#options.apiKey}` }
      : {};
    return await transport.retrying(
      () =>
        transport.text(`${this.#root}${path}`, {
          method: "POST",
          headers: { ...headers, ...authorization },
          body: body(),
        }),
      this.#options.rateLimit ?? DEFAULT_RATE_LIMIT_POLICY,
    );
  }
}

/**
 * Map verbose_json into the shared model. Words come as one flat list; each goes to the
 * segment it falls in (by its midpoint), so captions get word timings per segment.
 */
export function verboseJsonToTranscript(
  output: VerboseTranscription,
  forcedLanguage?: string,
): Transcript {
  const words: Word[] = (output.words ?? [])
    .map((w) => ({ text: w.word.trim(), start: w.start, end: Math.max(w.start, w.end) }))
    .filter((w) => w.text !== "")
    .sort((a, b) => a.start - b.start);
  let segments: Segment[] = (output.segments ?? [])
    .map((s) => ({
      start: s.start,
      end: Math.max(s.start, s.end),
      text: s.text.trim(),
      ...(s.speaker ? { speaker: s.speaker } : {}),
    }))
    .filter((s) => s.text !== "")
    .sort((a, b) => a.start - b.start);

  if (segments.length === 0 && words.length > 0) {
    // Word timestamps without segments: one segment spanning them keeps the words usable.
    segments = [{
      start: words[0].start,
      end: words[words.length - 1].end,
      text: output.text?.trim() || words.map((w) => w.text).join(" "),
    }];
  } else if (segments.length === 0 && output.text?.trim()) {
    segments = [{ start: 0, end: output.duration ?? 0, text: output.text.trim() }];
  }

  if (words.length > 0 && segments.length > 0) {
    const perSegment: Word[][] = segments.map(() => []);
    let index = 0;
    for (const word of words) {
      const middle = (word.start + word.end) / 2;
      while (index < segments.length - 1 && middle >= segments[index + 1].start) index++;
      perSegment[index].push(word);
    }
    segments = segments.map((s, i) =>
      perSegment[i].length > 0 ? { ...s, words: perSegment[i] } : s
    );
  }

  const language = forcedLanguage ?? languageCode(output.language) ?? "und";
  const parsed = Transcript.safeParse({
    language,
    segments,
    ...(output.duration !== undefined ? { duration: output.duration } : {}),
  });
  if (!parsed.success) {
    throw new ProviderError(
      "malformed_output",
      `transcription is off-schema: ${z.prettifyError(parsed.error)}`,
    );
  }
  return parsed.data;
}

/** OpenAI's verbose_json names the language ("english"); others give the code ("en"). */
function languageCode(language: string | undefined): string | undefined {
  if (!language) return undefined;
  const value = language.trim().toLowerCase();
  return WHISPER_LANGUAGE_CODES[value] ?? value;
}

/** Whisper's language names and their ISO 639-1 codes. */
const WHISPER_LANGUAGE_CODES: Record<string, string> = {
  afrikaans: "af",
  albanian: "sq",
  amharic: "am",
  arabic: "ar",
  armenian: "hy",
  assamese: "as",
  azerbaijani: "az",
  bashkir: "ba",
  basque: "eu",
  belarusian: "be",
  bengali: "bn",
  bosnian: "bs",
  breton: "br",
  bulgarian: "bg",
  burmese: "my",
  cantonese: "yue",
  catalan: "ca",
  chinese: "zh",
  croatian: "hr",
  czech: "cs",
  danish: "da",
  dutch: "nl",
  english: "en",
  estonian: "et",
  faroese: "fo",
  finnish: "fi",
  french: "fr",
  galician: "gl",
  georgian: "ka",
  german: "de",
  greek: "el",
  gujarati: "gu",
  haitian: "ht",
  "haitian creole": "ht",
  hausa: "ha",
  hawaiian: "haw",
  hebrew: "he",
  hindi: "hi",
  hungarian: "hu",
  icelandic: "is",
  indonesian: "id",
  italian: "it",
  japanese: "ja",
  javanese: "jw",
  kannada: "kn",
  kazakh: "kk",
  khmer: "km",
  korean: "ko",
  lao: "lo",
  latin: "la",
  latvian: "lv",
  lingala: "ln",
  lithuanian: "lt",
  luxembourgish: "lb",
  macedonian: "mk",
  malagasy: "mg",
  malay: "ms",
  malayalam: "ml",
  maltese: "mt",
  maori: "mi",
  marathi: "mr",
  mongolian: "mn",
  nepali: "ne",
  norwegian: "no",
  nynorsk: "nn",
  occitan: "oc",
  pashto: "ps",
  persian: "fa",
  polish: "pl",
  portuguese: "pt",
  punjabi: "pa",
  romanian: "ro",
  russian: "ru",
  sanskrit: "sa",
  serbian: "sr",
  shona: "sn",
  sindhi: "sd",
  sinhala: "si",
  slovak: "sk",
  slovenian: "sl",
  somali: "so",
  spanish: "es",
  sundanese: "su",
  swahili: "sw",
  swedish: "sv",
  tagalog: "tl",
  tajik: "tg",
  tamil: "ta",
  tatar: "tt",
  telugu: "te",
  thai: "th",
  tibetan: "bo",
  turkish: "tr",
  turkmen: "tk",
  ukrainian: "uk",
  urdu: "ur",
  uzbek: "uz",
  vietnamese: "vi",
  welsh: "cy",
  yiddish: "yi",
  yoruba: "yo",
};
