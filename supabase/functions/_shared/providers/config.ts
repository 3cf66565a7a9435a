/**
 * The one place that picks engines from the environment. Transcription defaults to the offline
 * server (no key, runs on the local stack); text tasks default to none, and then translate and
 * summarize fail with `needs_provider` instead of producing anything made up.
 *
 * | variable                 | default                    | meaning                           |
 * | ------------------------ | -------------------------- | --------------------------------- |
 * | TRANSCRIBE_PROVIDER      | offline                    | offline, openai or gemini         |
 * | TEXT_PROVIDER            | none                       | none, openai or gemini            |
 * | GEMINI_API_KEY           |                            | required when gemini is chosen    |
 * | GEMINI_BASE_URL          | Google's endpoint          | e.g. a fake in tests              |
 * | GEMINI_MODEL             | gemini-2.5-flash           |                                   |
 * | OPENAI_API_KEY           |                            | required for api.openai.com       |
 * | OPENAI_BASE_URL          | https://api.openai.com     | Groq, a whisper server, ...       |
 * | OPENAI_TRANSCRIBE_MODEL  | whisper-1                  | needs verbose_json support        |
 * | OPENAI_CHAT_MODEL        | gpt-4.1-mini               |                                   |
 * | OFFLINE_ASR_URL          | http://127.0.0.1:54329     | scripts/ship/asr offline server        |
 * | PROVIDER_TIMEOUT_MS      | 50000 (offline: 110000)    | per request, any provider         |
 * | AI_SUBS_HOSTED           | from SUPABASE_URL          | 1: hosted project, 0: local       |
 *
 * Timeouts (limits.ts): a cloud request may take PROVIDER_TIMEOUT_MS, so the download and two
 * requests fit the 120 s an invocation may use inside the 150 s wall clock. The offline engine
 * exists only on the local stack (one chunk at a time on this machine's cores), which has no
 * retry inside the call, so it gets one longer request.
 *
 * On a hosted project the offline engine cannot be reached (it runs on a developer's machine),
 * so choosing it there fails the job at once with `needs_provider` instead of after retries.
 */
import { z } from "zod";
import { INVOCATION_BUDGET_MS, PROVIDER_TIMEOUT_MS } from "../engine/limits.ts";
import { ProviderError } from "./errors.ts";
import { DEFAULT_GEMINI_MODEL, GeminiProvider } from "./gemini.ts";
import {
  DEFAULT_OPENAI_BASE_URL,
  DEFAULT_OPENAI_CHAT_MODEL,
  DEFAULT_OPENAI_TRANSCRIBE_MODEL,
  OpenAiProvider,
} from "./openai.ts";
import type { TextProvider, TranscriptionProvider } from "./types.ts";

export const DEFAULT_OFFLINE_ASR_URL = "http://127.0.0.1:54329";
/** One offline request: all of the invocation budget but the download's share. */
export const OFFLINE_TIMEOUT_MS = INVOCATION_BUDGET_MS - 10_000;

/**
 * Whether these functions run on a hosted Supabase project: AI_SUBS_HOSTED when set, else
 * whether SUPABASE_URL is an https address off this machine (hosted projects are
 * https://<ref>.supabase.co or a custom domain; the local stack and `supabase start` serve
 * plain http on loopback or Docker's network).
 */
export function isHosted(env: Record<string, string | undefined> = Deno.env.toObject()): boolean {
  const explicit = env.AI_SUBS_HOSTED?.trim().toLowerCase();
  if (explicit) return explicit === "1" || explicit === "true";
  try {
    const url = new URL(env.SUPABASE_URL ?? "");
    return url.protocol === "https:" && !isLoopback(url.hostname);
  } catch {
    return false;
  }
}

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "");
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" || /^127\./.test(h);
}

const ProviderEnv = z.object({
  TRANSCRIBE_PROVIDER: z.enum(["offline", "openai", "gemini"]).default("offline"),
  TEXT_PROVIDER: z.enum(["none", "openai", "gemini"]).default("none"),
  GEMINI_API_KEY: z.string().optional(),
  GEMINI_BASE_URL: z.url().optional(),
  GEMINI_MODEL: z.string().default(DEFAULT_GEMINI_MODEL),
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_BASE_URL: z.url().optional(),
  OPENAI_TRANSCRIBE_MODEL: z.string().default(DEFAULT_OPENAI_TRANSCRIBE_MODEL),
  OPENAI_CHAT_MODEL: z.string().default(DEFAULT_OPENAI_CHAT_MODEL),
  OFFLINE_ASR_URL: z.url().default(DEFAULT_OFFLINE_ASR_URL),
  PROVIDER_TIMEOUT_MS: z.coerce.number().int().positive().optional(),
});
type ProviderEnv = z.infer<typeof ProviderEnv>;

export function transcriptionProviderFromEnv(
  env: Record<string, string | undefined> = Deno.env.toObject(),
): TranscriptionProvider {
  const config = parseEnv(env);
  switch (config.TRANSCRIBE_PROVIDER) {
    case "offline": {
      // A hosted function cannot reach an engine on loopback; one a user hosts elsewhere is fine.
      const remote = env.OFFLINE_ASR_URL?.trim() &&
        !isLoopback(new URL(config.OFFLINE_ASR_URL).hostname);
      if (isHosted(env) && !remote) {
        throw new ProviderError(
          "needs_provider",
          "Transcription needs a provider on a hosted project (the offline engine runs only on " +
            "the local stack). Set TRANSCRIBE_PROVIDER to gemini (with GEMINI_API_KEY) or openai " +
            "(with OPENAI_API_KEY or OPENAI_BASE_URL).",
        );
      }
      // The offline server speaks the OpenAI transcription API and ignores the model name.
      return new OpenAiProvider({
        name: "offline",
        baseUrl: config.OFFLINE_ASR_URL,
        transcribeModel: "pocketsphinx",
        timeoutMs: config.PROVIDER_TIMEOUT_MS ?? OFFLINE_TIMEOUT_MS,
      });
    }
    case "openai":
      return openAi(config, "TRANSCRIBE_PROVIDER");
    case "gemini":
      return gemini(config, "TRANSCRIBE_PROVIDER");
  }
}

export function textProviderFromEnv(
  env: Record<string, string | undefined> = Deno.env.toObject(),
): TextProvider {
  const config = parseEnv(env);
  switch (config.TEXT_PROVIDER) {
    case "none":
      return new NoTextProvider();
    case "openai":
      return openAi(config, "TEXT_PROVIDER");
    case "gemini":
      return gemini(config, "TEXT_PROVIDER");
  }
}

/** Stands in when no text engine is configured: says so instead of guessing. */
export class NoTextProvider implements TextProvider {
  readonly name = "none";

  translate(): Promise<never> {
    return Promise.reject(needsProvider("Translation"));
  }

  summarize(): Promise<never> {
    return Promise.reject(needsProvider("Summaries"));
  }
}

function needsProvider(task: string): ProviderError {
  return new ProviderError(
    "needs_provider",
    `${task} need a language model, and none is configured. Set TEXT_PROVIDER to gemini ` +
      "(with GEMINI_API_KEY) or openai (with OPENAI_API_KEY or OPENAI_BASE_URL).",
  );
}

function gemini(config: ProviderEnv, chosenBy: string): GeminiProvider {
  if (!config.GEMINI_API_KEY) {
    throw new ProviderError(
      "provider_misconfigured",
      `${chosenBy}=gemini needs GEMINI_API_KEY`,
    );
  }
  return new GeminiProvider({
    apiKey: config.GEMINI_API_KEY,
    model: config.GEMINI_MODEL,
    ...timeout(config),
    ...(config.GEMINI_BASE_URL ? { baseUrl: config.GEMINI_BASE_URL } : {}),
  });
}

function openAi(config: ProviderEnv, chosenBy: string): OpenAiProvider {
  // A self-hosted server may need no key; OpenAI itself always does.
  if (!config.OPENAI_BASE_URL && !config.OPENAI_API_KEY) {
    throw new ProviderError(
      "provider_misconfigured",
      `${chosenBy}=openai needs OPENAI_API_KEY (or OPENAI_BASE_URL for a server without keys)`,
    );
  }
  return new OpenAiProvider({
    baseUrl: config.OPENAI_BASE_URL ?? DEFAULT_OPENAI_BASE_URL,
    transcribeModel: config.OPENAI_TRANSCRIBE_MODEL,
    chatModel: config.OPENAI_CHAT_MODEL,
    ...timeout(config),
    ...(config.OPENAI_API_KEY ? { apiKey: config.OPENAI_API_KEY } : {}),
  });
}

/** The per-request timeout of a cloud provider (PROVIDER_TIMEOUT_MS overrides it). */
function timeout(config: ProviderEnv): { timeoutMs: number } {
  return { timeoutMs: config.PROVIDER_TIMEOUT_MS ?? PROVIDER_TIMEOUT_MS };
}

function parseEnv(env: Record<string, string | undefined>): ProviderEnv {
  // `FOO=` in an env file means unset, not "the empty string is the key".
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ""),
  );
  const parsed = ProviderEnv.safeParse(present);
  if (!parsed.success) {
    throw new ProviderError(
      "provider_misconfigured",
      `provider settings are invalid: ${z.prettifyError(parsed.error)}`,
    );
  }
  return parsed.data;
}
