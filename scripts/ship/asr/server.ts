/**
 * The offline transcription engine as an OpenAI-compatible HTTP server: no key, no internet.
 * `POST /v1/audio/transcriptions` (multipart: file, model, language, response_format,
 * timestamp_granularities[]), `GET /v1/models`, `GET /health`.
 *
 *     deno run -A scripts/ship/asr/server.ts --port 8765 [--hostname 127.0.0.1]
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import {
  errorBody,
  type Granularity,
  MODEL_ID,
  renderTranscription,
  type ResponseFormat,
} from "./openai_format.ts";
import { transcribeFile, UnreadableMediaError } from "./transcribe.ts";

export interface AsrServer {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:8765 */
  url: string;
  close(): Promise<void>;
}

/** Starts the server; `port: 0` picks a free port (read it back from `url`). */
export function startAsrServer(
  options: { port: number; hostname?: string },
): Promise<AsrServer> {
  const hostname = options.hostname ?? "127.0.0.1";
  return new Promise((resolve) => {
    const server = Deno.serve({
      port: options.port,
      hostname,
      onListen: ({ port }) =>
        resolve({
          url: `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`,
          close: () => server.shutdown(),
        }),
    }, handleRequest);
  });
}

const TranscriptionForm = z.object({
  file: z.instanceof(File, { message: "A file field with the audio or video is required." }),
  // Any model name is accepted: OpenAI clients send "whisper-1" and deserve an answer.
  model: z.string().optional(),
  language: z.string().optional(),
  response_format: z.enum(["json", "text", "verbose_json", "srt", "vtt"]).default("json"),
  timestamp_granularities: z.array(z.enum(["word", "segment"])).default(["segment"]),
});

/** Routes one request; exported so tests or a gateway can mount it without a socket. */
export async function handleRequest(request: Request): Promise<Response> {
  const { pathname } = new URL(request.url);
  if (pathname === "/health" && request.method === "GET") {
    return Response.json({ status: "ok", model: MODEL_ID });
  }
  if (pathname === "/v1/models" && request.method === "GET") {
    return Response.json({
      object: "list",
      data: [{ id: MODEL_ID, object: "model", created: 0, owned_by: "ai-subs" }],
    });
  }
  if (pathname === "/v1/audio/transcriptions") {
    if (request.method !== "POST") {
      return fail(405, `Use POST for ${pathname}.`, "method_not_allowed");
    }
    return await transcribe(request);
  }
  return fail(404, `Unknown endpoint ${request.method} ${pathname}.`, "not_found");
}

async function transcribe(request: Request): Promise<Response> {
  let form: FormData;
  try {
    form = await request.formData();
  } catch {
    return fail(400, "The request body must be multipart/form-data.", "invalid_request");
  }
  const parsed = TranscriptionForm.safeParse({
    file: form.get("file") ?? undefined,
    model: form.get("model") ?? undefined,
    language: form.get("language") || undefined,
    response_format: form.get("response_format") || undefined,
    timestamp_granularities: granularities(form),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail(400, issue.message, "invalid_value", issue.path.join(".") || null);
  }
  const fields = parsed.data;
  // The acoustic and language models are US English; other languages would come out as
  // English-sounding nonsense, so refuse them the way OpenAI refuses an unknown language.
  if (fields.language !== undefined && !/^en(-[a-z]{2})?$/i.test(fields.language)) {
    return fail(
      400,
      `Language '${fields.language}' is not supported; this engine transcribes English ('en') only.`,
      "unsupported_language",
      "language",
    );
  }
  if (fields.file.size === 0) {
    return fail(400, "The uploaded file is empty.", "unreadable_media", "file");
  }

  const path = await Deno.makeTempFile({ prefix: "asr-upload-" });
  try {
    await Deno.writeFile(path, fields.file.stream());
    const transcription = await transcribeFile(path);
    return renderTranscription(
      transcription,
      fields.response_format as ResponseFormat,
      fields.timestamp_granularities as Granularity[],
    );
  } catch (error) {
    if (error instanceof UnreadableMediaError) {
      return fail(400, error.message, "unreadable_media", "file");
    }
    console.error("asr: transcription failed:", error);
    return fail(500, "The transcription engine failed on this file.", "server_error");
  } finally {
    await Deno.remove(path).catch(() => {});
  }
}

/** OpenAI's SDKs send `timestamp_granularities[]`; plain form posts may drop the brackets. */
function granularities(form: FormData): string[] | undefined {
  const values = [
    ...form.getAll("timestamp_granularities[]"),
    ...form.getAll("timestamp_granularities"),
  ].map(String);
  return values.length > 0 ? values : undefined;
}

function fail(status: number, message: string, code: string, param: string | null = null) {
  return Response.json(errorBody(message, code, param), { status });
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "8765" },
      hostname: { type: "string", default: "127.0.0.1" },
    },
  });
  const server = await startAsrServer({ port: Number(values.port), hostname: values.hostname });
  console.log(`asr: OpenAI-compatible transcription at ${server.url}/v1/audio/transcriptions`);
}
