/**
 * A loopback stand-in for an OpenAI-compatible server (OpenAI, Groq, whisper servers, the
 * offline ASR server):
 *
 * - `POST /v1/audio/transcriptions`, multipart with `file`, `model`, optional `language`,
 *   `response_format` (`json`, `text` or `verbose_json`) and `timestamp_granularities[]`;
 *   `verbose_json` answers `{task, language, duration, text, segments, words}` (OpenAI names
 *   the language, "english"; words only when the `word` granularity was asked for);
 * - `POST /v1/chat/completions` with `response_format: {type: "json_schema", ...}`.
 *
 * Errors use OpenAI's `{error: {message, type, param, code}}`; 429s carry `retry-after` and
 * `retry-after-ms`. When an `apiKey` is set, `Authorization: Bearer <key>` is required;
 * without one (like a local whisper server) any or no key is accepted.
 */
import { audioSeconds, fakeSegments } from "./deterministic.ts";
import {
  type Behaviour,
  type FakeContext,
  type FakeServer,
  jsonResponse,
  startFakeServer,
} from "./fake_server.ts";

export interface OpenAiFakeOptions {
  apiKey?: string;
  /** Latency of every model request that has none of its own (the per-chunk L). */
  latencyMs?: number;
  /** Language reported by default transcriptions when none was asked for. */
  detectedLanguage?: string;
}

export function startOpenAiFake(options: OpenAiFakeOptions = {}): FakeServer {
  return startFakeServer(async (request, recorded, body, context) => {
    const url = new URL(request.url);
    if (options.apiKey && request.headers.get("authorization") !== `Bearer ${options.apiKey}`) {
      return openAiError(401, "Incorrect API key provided.", "invalid_request_error", {
        code: "invalid_api_key",
      });
    }
    if (request.method !== "POST") return openAiError(405, "method not allowed");

    if (url.pathname === "/v1/audio/transcriptions") {
      const contentType = request.headers.get("content-type") ?? "";
      if (!contentType.includes("multipart/form-data")) {
        return openAiError(400, "expected multipart/form-data", "invalid_request_error");
      }
      const form = await new Response(body, { headers: { "content-type": contentType } })
        .formData();
      const file = form.get("file");
      if (!(file instanceof File)) {
        return openAiError(400, "'file' is a required property", "invalid_request_error", {
          param: "file",
        });
      }
      if (!form.get("model")) {
        return openAiError(400, "'model' is a required property", "invalid_request_error", {
          param: "model",
        });
      }
      const audio = new Uint8Array(await file.arrayBuffer());
      return await transcription(form, audio, context, options.detectedLanguage ?? "english");
    }

    if (url.pathname === "/v1/chat/completions") {
      return await chatCompletion(recorded.json as ChatRequest | undefined, context);
    }
    return openAiError(404, `the OpenAI fake does not serve ${url.pathname}`);
  }, { latencyMs: options.latencyMs });
}

async function transcription(
  form: FormData,
  audio: Uint8Array,
  context: FakeContext,
  detectedLanguage: string,
): Promise<Response> {
  const behaviour = context.nextBehaviour();
  await context.delay(behaviour);
  const failure = failureResponse(behaviour);
  if (failure) return failure;

  const format = String(form.get("response_format") ?? "json");
  const granularities = form.getAll("timestamp_granularities[]").map(String);
  const duration = audioSeconds(audio);
  const segments = fakeSegments(duration);
  const text = segments.map((s) => s.text).join(" ");
  const verbose = {
    task: "transcribe",
    language: String(form.get("language") ?? detectedLanguage),
    duration,
    text,
    ...(granularities.includes("word")
      ? {
        words: segments.flatMap((s) => s.words).map((w) => ({
          word: w.text,
          start: w.start,
          end: w.end,
        })),
      }
      : {}),
    segments: segments.map((s, id) => ({
      id,
      seek: 0,
      start: s.start,
      end: s.end,
      text: ` ${s.text}`,
      tokens: [],
      temperature: 0,
      avg_logprob: -0.2,
      compression_ratio: 1.2,
      no_speech_prob: 0.01,
    })),
  };

  switch (behaviour.kind) {
    case "payload":
      return jsonResponse(behaviour.payload);
    case "text":
      return new Response(behaviour.text, { headers: { "content-type": "application/json" } });
    case "refused":
      return openAiError(
        400,
        "Your request was rejected as a result of our safety system.",
        "invalid_request_error",
      );
    case "truncated": {
      const full = JSON.stringify(verbose);
      return new Response(full.slice(0, Math.floor(full.length / 2)), {
        headers: { "content-type": "application/json" },
      });
    }
    default:
      if (format === "text") return new Response(text);
      return jsonResponse(format === "verbose_json" ? verbose : { text });
  }
}

interface ChatRequest {
  messages?: { role: string; content: string }[];
  response_format?: { type: string; json_schema?: { name?: string } };
}

async function chatCompletion(
  request: ChatRequest | undefined,
  context: FakeContext,
): Promise<Response> {
  const behaviour = context.nextBehaviour();
  await context.delay(behaviour);
  const failure = failureResponse(behaviour);
  if (failure) return failure;
  if (!request?.messages) {
    return openAiError(400, "'messages' is a required property", "invalid_request_error");
  }
  switch (behaviour.kind) {
    case "payload":
      return completion(JSON.stringify(behaviour.payload));
    case "text":
      return completion(behaviour.text);
    case "truncated": {
      const full = JSON.stringify(defaultChatOutput(request));
      return completion(full.slice(0, Math.floor(full.length / 2)), "length");
    }
    case "refused":
      return completion(null, "stop", "I'm sorry, I can't help with that.");
    default:
      return completion(JSON.stringify(defaultChatOutput(request)));
  }
}

/** Translations get "[to] " in front; summaries count the transcript's lines. */
function defaultChatOutput(request: ChatRequest): unknown {
  const system = request.messages?.find((m) => m.role === "system")?.content ?? "";
  const user = request.messages?.find((m) => m.role === "user")?.content ?? "";
  if (request.response_format?.json_schema?.name === "translation") {
    const to = /into the language "([^"]+)"/.exec(system)?.[1] ?? "xx";
    const input = JSON.parse(user) as { segments: { id: number; text: string }[] };
    return { translations: input.segments.map((s) => ({ id: s.id, text: `[${to}] ${s.text}` })) };
  }
  const lines = user.split("\n").filter((l) => l.trim());
  const firstStart = Number(/^\[(\d+(?:\.\d+)?)\]/.exec(lines[0] ?? "")?.[1] ?? 0);
  return {
    summary: `A recording of ${lines.length} lines.`,
    chapters: [{ start: firstStart, title: "Everything", summary: "" }],
    keyPoints: [`${lines.length} lines were said.`],
  };
}

function completion(content: string | null, finishReason = "stop", refusal?: string): Response {
  return jsonResponse({
    id: "chatcmpl-fake",
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: "fake",
    choices: [{
      index: 0,
      message: { role: "assistant", content, refusal: refusal ?? null },
      finish_reason: finishReason,
    }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  });
}

/** The behaviours that answer the same way on every endpoint. */
function failureResponse(behaviour: Behaviour): Response | undefined {
  switch (behaviour.kind) {
    case "rate_limited":
      return openAiError(429, "Rate limit reached for requests.", "requests", {
        code: "rate_limit_exceeded",
        headers: {
          "retry-after": String(Math.ceil(behaviour.retryAfterMs / 1000)),
          "retry-after-ms": String(behaviour.retryAfterMs),
        },
      });
    case "error":
      return openAiError(behaviour.status, behaviour.message, "invalid_request_error");
    case "malformed_json":
      return new Response('{"text": "alpha bra', {
        headers: { "content-type": "application/json" },
      });
    default:
      return undefined;
  }
}

function openAiError(
  status: number,
  message: string,
  type = "server_error",
  extra: { param?: string; code?: string; headers?: Record<string, string> } = {},
): Response {
  return jsonResponse(
    { error: { message, type, param: extra.param ?? null, code: extra.code ?? null } },
    status,
    extra.headers,
  );
}
