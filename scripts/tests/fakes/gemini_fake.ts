/**
 * A loopback stand-in for the Gemini API, speaking exactly what @google/genai 3.x sends:
 *
 * - `POST /v1beta/models/{model}:generateContent` (the provider does not stream), every
 *   request authenticated by the `x-goog-api-key` header;
 * - the Files API resumable upload: `POST /upload/v1beta/files` with
 *   `X-Goog-Upload-Protocol: resumable` and `X-Goog-Upload-Command: start` answers with an
 *   `X-Goog-Upload-URL`; chunks then go to that URL with `X-Goog-Upload-Command: upload` (the
 *   last one `upload, finalize`) and `X-Goog-Upload-Offset`, answered with
 *   `X-Goog-Upload-Status: active` / `final` (the final one carries `{file: {...}}`);
 * - `GET` and `DELETE /v1beta/files/{id}`.
 *
 * Model requests follow the script (fake_server.ts); the default answer is the deterministic
 * transcript, translation or summary, chosen by the response schema the request asks for.
 */
import { audioSeconds, fakeSegments } from "./deterministic.ts";
import {
  type Behaviour,
  type FakeContext,
  type FakeServer,
  jsonResponse,
  type RecordedRequest,
  startFakeServer,
} from "./fake_server.ts";

export interface GeminiFakeOptions {
  /** The key clients must send; default "fake-gemini-key". */
  apiKey?: string;
  /** Latency of every model request that has none of its own (the per-chunk L). */
  latencyMs?: number;
}

export interface StoredFile {
  name: string;
  mimeType: string;
  displayName?: string;
  bytes: Uint8Array;
}

export interface GeminiFake extends FakeServer {
  readonly apiKey: string;
  /** Files uploaded and not deleted, by name ("files/abc"). */
  readonly files: ReadonlyMap<string, StoredFile>;
}

export const DEFAULT_FAKE_GEMINI_KEY = "fake-gemini-key";

export function startGeminiFake(options: GeminiFakeOptions = {}): GeminiFake {
  const apiKey = options.apiKey ?? DEFAULT_FAKE_GEMINI_KEY;
  const files = new Map<string, StoredFile>();
  const uploads = new Map<string, { meta: Record<string, unknown>; chunks: Uint8Array[] }>();
  let nextId = 1;

  const server = startFakeServer(async (request, recorded, body, context) => {
    const url = new URL(request.url);
    if (request.headers.get("x-goog-api-key") !== apiKey) {
      return googleError(400, "API key not valid. Please pass a valid API key.");
    }

    if (/^\/v1beta\/models\/[^/:]+:generateContent$/.test(url.pathname)) {
      if (request.method === "POST") return await modelAnswer(recorded, files, context);
    }

    if (url.pathname === "/upload/v1beta/files" && request.method === "POST") {
      const uploadId = url.searchParams.get("upload_id");
      if (uploadId === null) {
        if (request.headers.get("x-goog-upload-protocol") !== "resumable") {
          return googleError(400, "only the resumable upload protocol is faked");
        }
        const id = `upload-${nextId++}`;
        const meta = ((recorded.json as { file?: Record<string, unknown> } | undefined)?.file) ??
          {};
        uploads.set(id, { meta, chunks: [] });
        return new Response(null, {
          headers: {
            "x-goog-upload-url":
              `${server.url}/upload/v1beta/files?upload_id=${id}&upload_protocol=resumable`,
            "x-goog-upload-status": "active",
          },
        });
      }
      const upload = uploads.get(uploadId);
      if (!upload) return googleError(404, `no upload ${uploadId}`);
      const received = upload.chunks.reduce((n, c) => n + c.byteLength, 0);
      if (Number(request.headers.get("x-goog-upload-offset")) !== received) {
        return googleError(400, `upload offset should be ${received}`);
      }
      upload.chunks.push(body);
      const command = request.headers.get("x-goog-upload-command") ?? "";
      if (!command.includes("finalize")) {
        return new Response(null, { headers: { "x-goog-upload-status": "active" } });
      }
      uploads.delete(uploadId);
      const bytes = new Uint8Array(received + body.byteLength);
      let offset = 0;
      for (const chunk of upload.chunks) {
        bytes.set(chunk, offset);
        offset += chunk.byteLength;
      }
      const stored: StoredFile = {
        name: `files/fake-${nextId++}`,
        mimeType: String(upload.meta.mimeType ?? "application/octet-stream"),
        displayName: upload.meta.displayName as string | undefined,
        bytes,
      };
      files.set(stored.name, stored);
      return jsonResponse({ file: fileResource(stored, server.url) }, 200, {
        "x-goog-upload-status": "final",
      });
    }

    const file = /^\/v1beta\/(files\/[^/]+)$/.exec(url.pathname);
    if (file) {
      const stored = files.get(file[1]);
      if (!stored) return googleError(404, `File ${file[1]} not found`);
      if (request.method === "GET") return jsonResponse(fileResource(stored, server.url));
      if (request.method === "DELETE") {
        files.delete(file[1]);
        return jsonResponse({});
      }
    }
    return googleError(404, `the Gemini fake does not serve ${request.method} ${url.pathname}`);
  }, { latencyMs: options.latencyMs });

  return Object.assign(server, { apiKey, files });
}

async function modelAnswer(
  recorded: RecordedRequest,
  files: Map<string, StoredFile>,
  context: FakeContext,
): Promise<Response> {
  const behaviour: Behaviour = context.nextBehaviour();
  await context.delay(behaviour);
  const request = (recorded.json ?? {}) as GenerateContentRequest;
  switch (behaviour.kind) {
    case "ok":
      return candidateResponse(JSON.stringify(defaultOutput(request, files)));
    case "payload":
      return candidateResponse(JSON.stringify(behaviour.payload));
    case "text":
      return candidateResponse(behaviour.text);
    case "truncated": {
      const full = JSON.stringify(defaultOutput(request, files));
      return candidateResponse(full.slice(0, Math.floor(full.length / 2)), "MAX_TOKENS");
    }
    case "refused":
      return jsonResponse({ promptFeedback: { blockReason: "SAFETY" } });
    case "malformed_json":
      return new Response('{"candidates": [{"content": {"parts": [{"text": "{\\"lang', {
        headers: { "content-type": "application/json" },
      });
    case "rate_limited":
      return behaviour.via === "header"
        ? googleError(429, "Resource has been exhausted (e.g. check quota).", [], {
          "retry-after": String(behaviour.retryAfterMs / 1000),
        })
        : googleError(429, "You exceeded your current quota.", [{
          "@type": "type.googleapis.com/google.rpc.RetryInfo",
          retryDelay: `${behaviour.retryAfterMs / 1000}s`,
        }]);
    case "error":
      return googleError(behaviour.status, behaviour.message);
  }
}

interface GenerateContentRequest {
  contents?: { parts?: Part[] }[];
  systemInstruction?: { parts?: Part[] };
  generationConfig?: { responseJsonSchema?: { properties?: Record<string, unknown> } };
}

interface Part {
  text?: string;
  inlineData?: { data: string; mimeType: string };
  fileData?: { fileUri: string; mimeType?: string };
}

/** The deterministic answer for whichever task the response schema describes. */
function defaultOutput(request: GenerateContentRequest, files: Map<string, StoredFile>): unknown {
  const properties = request.generationConfig?.responseJsonSchema?.properties ?? {};
  const parts = (request.contents ?? []).flatMap((c) => c.parts ?? []);
  if ("translations" in properties) {
    const system = (request.systemInstruction?.parts ?? []).map((p) => p.text ?? "").join(" ");
    const to = /into the language "([^"]+)"/.exec(system)?.[1] ?? "xx";
    const input = parts.map((p) => tryJson(p.text)).find((j) => j?.segments) as
      | { segments: { id: number; text: string }[] }
      | undefined;
    return {
      translations: (input?.segments ?? []).map((s) => ({ id: s.id, text: `[${to}] ${s.text}` })),
    };
  }
  if ("keyPoints" in properties) {
    const lines = parts.flatMap((p) => (p.text ?? "").split("\n")).filter((l) => l.trim());
    const firstStart = Number(/^\[(\d+(?:\.\d+)?)\]/.exec(lines[0] ?? "")?.[1] ?? 0);
    return {
      summary: `A recording of ${lines.length} lines.`,
      chapters: [{ start: firstStart, title: "Everything", summary: "" }],
      keyPoints: [`${lines.length} lines were said.`],
    };
  }
  const audio = parts.find((p) => p.inlineData || p.fileData);
  const bytes = audio?.inlineData
    ? Uint8Array.from(atob(audio.inlineData.data), (c) => c.charCodeAt(0))
    : files.get(new URL(audio?.fileData?.fileUri ?? "x:").pathname.replace(/^\/v1beta\//, ""))
      ?.bytes;
  const segments = fakeSegments(bytes ? audioSeconds(bytes) : 0);
  return {
    language: "en",
    segments: segments.map(({ start, end, speaker, text }) => ({ start, end, speaker, text })),
  };
}

function candidateResponse(text: string, finishReason = "STOP"): Response {
  return jsonResponse({
    candidates: [{ content: { role: "model", parts: [{ text }] }, finishReason, index: 0 }],
    usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 1, totalTokenCount: 2 },
    modelVersion: "fake",
  });
}

function fileResource(file: StoredFile, root: string): Record<string, unknown> {
  return {
    name: file.name,
    displayName: file.displayName,
    mimeType: file.mimeType,
    sizeBytes: String(file.bytes.byteLength),
    uri: `${root}/v1beta/${file.name}`,
    state: "ACTIVE",
    source: "UPLOADED",
  };
}

const STATUS_NAMES: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

/** Google's error body: `{error: {code, message, status, details}}`. */
function googleError(
  code: number,
  message: string,
  details: unknown[] = [],
  headers: Record<string, string> = {},
): Response {
  const status = STATUS_NAMES[code] ?? "UNKNOWN";
  return jsonResponse({ error: { code, message, status, details } }, code, headers);
}

function tryJson(text: string | undefined): Record<string, unknown> | undefined {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
