/**
 * GeminiProvider through the real @google/genai code path against scripts/tests/fakes/gemini_fake.ts.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { makeWav } from "../../../../scripts/tests/fakes/deterministic.ts";
import { expectProviderError } from "../../../../scripts/tests/fakes/expect_provider_error.ts";
import { type GeminiFake, startGeminiFake } from "../../../../scripts/tests/fakes/gemini_fake.ts";
import type { Segment } from "../subtitles/transcript.ts";
import { type GeminiOptions, GeminiProvider } from "./gemini.ts";

const MODEL = "gemini-test";

async function withGemini(
  test: (
    fake: GeminiFake,
    provider: (options?: Partial<GeminiOptions>) => GeminiProvider,
  ) => Promise<void>,
): Promise<void> {
  const fake = startGeminiFake();
  try {
    await test(fake, (options = {}) =>
      new GeminiProvider({
        apiKey: fake.apiKey,
        model: MODEL,
        baseUrl: fake.url,
        rateLimit: { maxRetries: 3, budgetMs: 5_000, fallbackDelayMs: 10 },
        ...options,
      }));
  } finally {
    await fake.close();
  }
}

const generateRequests = (fake: GeminiFake) =>
  fake.requests.filter((r) => r.path === `/v1beta/models/${MODEL}:generateContent`);

// deno-lint-ignore no-explicit-any
type Json = any;

Deno.test("gemini: small audio goes inline and comes back as a transcript", async () => {
  await withGemini(async (fake, provider) => {
    const audio = makeWav(12);
    const transcript = await provider().transcribe({
      audio,
      mimeType: "audio/wav",
      filename: "chunk-000.wav",
    });

    assert.deepEqual(transcript, {
      language: "en",
      segments: [
        { start: 0, end: 5, text: "alpha bravo charlie delta echo", speaker: "Speaker 1" },
        { start: 5, end: 10, text: "foxtrot golf hotel india juliet", speaker: "Speaker 2" },
        { start: 10, end: 12, text: "alpha bravo charlie delta echo", speaker: "Speaker 1" },
      ],
    });
    assert.equal(fake.requests.length, 1, "no upload for small audio");
    const [request] = generateRequests(fake);
    assert.equal(request.headers["x-goog-api-key"], fake.apiKey);
    const body = request.json as Json;
    const inline = body.contents[0].parts[0].inlineData;
    assert.equal(inline.mimeType, "audio/wav");
    assert.deepEqual(new Uint8Array(Buffer.from(inline.data, "base64")), audio);
    assert.equal(body.generationConfig.responseMimeType, "application/json");
    const schema = body.generationConfig.responseJsonSchema;
    assert.deepEqual(schema.required, ["language", "segments"]);
    assert.deepEqual(schema.properties.segments.items.required, [
      "start",
      "end",
      "speaker",
      "text",
    ]);
  });
});

Deno.test("gemini: large audio goes through the Files API resumable upload", async () => {
  await withGemini(async (fake, provider) => {
    // 9.6 MB: more than one 8 MiB upload chunk, so offsets and finalize are exercised.
    const audio = makeWav(600);
    const transcript = await provider({ inlineLimitBytes: 1_000_000 }).transcribe({
      audio,
      mimeType: "audio/wav",
      filename: "chunk-001.wav",
    });

    assert.equal(transcript.segments.length, 120);
    assert.equal(transcript.segments.at(-1)?.end, 600);

    const [start, ...rest] = fake.requests;
    assert.equal(start.path, "/upload/v1beta/files");
    assert.equal(start.headers["x-goog-upload-protocol"], "resumable");
    assert.equal(start.headers["x-goog-upload-command"], "start");
    assert.equal(start.headers["x-goog-upload-header-content-length"], String(audio.byteLength));
    assert.equal(start.headers["x-goog-upload-header-content-type"], "audio/wav");
    assert.deepEqual((start.json as Json).file.displayName, "chunk-001.wav");

    const chunks = rest.filter((r) => r.path.startsWith("/upload/v1beta/files?upload_id="));
    assert.deepEqual(chunks.map((c) => c.headers["x-goog-upload-command"]), [
      "upload",
      "upload, finalize",
    ]);
    assert.deepEqual(chunks.map((c) => Number(c.headers["x-goog-upload-offset"])), [
      0,
      8 * 1024 * 1024,
    ]);
    assert.equal(chunks.reduce((n, c) => n + c.bodyBytes, 0), audio.byteLength);

    const [generate] = generateRequests(fake);
    const part = (generate.json as Json).contents[0].parts[0];
    assert.equal(part.inlineData, undefined);
    assert.match(part.fileData.fileUri, /\/v1beta\/files\/fake-\d+$/);
    assert.equal(part.fileData.mimeType, "audio/wav");

    assert.equal(fake.files.size, 0, "the uploaded file is deleted afterwards");
    assert.equal(fake.requests.at(-1)?.method, "DELETE");
  });
});

Deno.test("gemini: language and speaker hints reach the prompt; a forced language is kept", async () => {
  await withGemini(async (fake, provider) => {
    const transcript = await provider().transcribe({
      audio: makeWav(3),
      mimeType: "audio/wav",
      filename: "a.wav",
      language: "de",
      speakers: { num: 3 },
    });
    assert.equal(transcript.language, "de");
    const prompt = (generateRequests(fake)[0].json as Json).contents[0].parts[1].text as string;
    assert.match(prompt, /exactly 3 speakers/);
    assert.match(prompt, /in the language "de"/);

    await provider().transcribe({
      audio: makeWav(3),
      mimeType: "audio/wav",
      filename: "a.wav",
      speakers: { min: 2, max: 4 },
    });
    const second = (generateRequests(fake)[1].json as Json).contents[0].parts[1].text as string;
    assert.match(second, /between 2 and 4 speakers/);
    assert.match(second, /Detect the language/);
  });
});

Deno.test("gemini: 429 with RetryInfo is waited out, then succeeds", async () => {
  await withGemini(async (fake, provider) => {
    fake.script({ kind: "rate_limited", retryAfterMs: 300 });
    const started = performance.now();
    const transcript = await provider().transcribe({
      audio: makeWav(5),
      mimeType: "audio/wav",
      filename: "a.wav",
    });
    const elapsed = performance.now() - started;
    assert.equal(transcript.segments.length, 1);
    assert.equal(generateRequests(fake).length, 2);
    assert.ok(elapsed >= 300, `waited ${elapsed} ms`);
    const gap = generateRequests(fake)[1].at - generateRequests(fake)[0].at;
    assert.ok(gap >= 300, `second attempt came ${gap} ms after the first`);
  });
});

Deno.test("gemini: 429 with a Retry-After header is waited out too", async () => {
  await withGemini(async (fake, provider) => {
    fake.script({ kind: "rate_limited", retryAfterMs: 200, via: "header" });
    const started = performance.now();
    await provider().transcribe({ audio: makeWav(5), mimeType: "audio/wav", filename: "a.wav" });
    assert.ok(performance.now() - started >= 200);
    assert.equal(generateRequests(fake).length, 2);
  });
});

Deno.test("gemini: a wait beyond the budget is handed to the pipeline at once", async () => {
  await withGemini(async (fake, provider) => {
    fake.script({ kind: "rate_limited", retryAfterMs: 60_000 });
    const started = performance.now();
    const error = await expectProviderError(
      provider().transcribe({ audio: makeWav(5), mimeType: "audio/wav", filename: "a.wav" }),
      "rate_limited",
      "retryable",
    );
    assert.equal(error.retryAfterMs, 60_000);
    assert.ok(performance.now() - started < 5_000, "did not sleep through the wait");
    assert.equal(generateRequests(fake).length, 1);
  });
});

Deno.test("gemini: after maxRetries 429s the error carries the last delay", async () => {
  await withGemini(async (fake, provider) => {
    fake.script(
      { kind: "rate_limited", retryAfterMs: 20 },
      { kind: "rate_limited", retryAfterMs: 20 },
      { kind: "rate_limited", retryAfterMs: 30 },
    );
    const error = await expectProviderError(
      provider({ rateLimit: { maxRetries: 2, budgetMs: 5_000, fallbackDelayMs: 10 } }).transcribe(
        { audio: makeWav(5), mimeType: "audio/wav", filename: "a.wav" },
      ),
      "rate_limited",
      "retryable",
    );
    assert.equal(error.retryAfterMs, 30);
    assert.equal(generateRequests(fake).length, 3);
  });
});

const failures: {
  name: string;
  behaviour: Parameters<GeminiFake["script"]>[0];
  code: Parameters<typeof expectProviderError>[1];
  kind: "retryable" | "permanent";
}[] = [
  {
    name: "500",
    behaviour: { kind: "error", status: 500, message: "Internal error encountered." },
    code: "provider_unavailable",
    kind: "retryable",
  },
  {
    name: "503",
    behaviour: { kind: "error", status: 503, message: "The model is overloaded." },
    code: "provider_unavailable",
    kind: "retryable",
  },
  {
    name: "a body that is not JSON",
    behaviour: { kind: "malformed_json" },
    code: "malformed_output",
    kind: "retryable",
  },
  {
    name: "model JSON off the schema",
    behaviour: { kind: "payload", payload: { language: "en", segments: [{ start: 0 }] } },
    code: "malformed_output",
    kind: "retryable",
  },
  {
    name: "model text that is not JSON",
    behaviour: { kind: "text", text: "Sure! Here is the transcript:" },
    code: "malformed_output",
    kind: "retryable",
  },
  {
    name: "negative times",
    behaviour: {
      kind: "payload",
      payload: { language: "en", segments: [{ start: -1, end: 2, speaker: "A", text: "hi" }] },
    },
    code: "malformed_output",
    kind: "retryable",
  },
  {
    name: "output cut at the token limit",
    behaviour: { kind: "truncated" },
    code: "malformed_output",
    kind: "retryable",
  },
  {
    name: "400 unsupported language",
    behaviour: { kind: "error", status: 400, message: "Unsupported language: tlh" },
    code: "unsupported_language",
    kind: "permanent",
  },
  {
    name: "400 unreadable audio",
    behaviour: { kind: "error", status: 400, message: "Unable to process input audio." },
    code: "unreadable_media",
    kind: "permanent",
  },
  {
    name: "a safety block",
    behaviour: { kind: "refused" },
    code: "provider_refused",
    kind: "permanent",
  },
];

for (const failure of failures) {
  Deno.test(`gemini: ${failure.name} → ${failure.kind} ${failure.code}`, async () => {
    await withGemini(async (fake, provider) => {
      fake.script(failure.behaviour);
      await expectProviderError(
        provider().transcribe({ audio: makeWav(5), mimeType: "audio/wav", filename: "a.wav" }),
        failure.code,
        failure.kind,
      );
      assert.equal(generateRequests(fake).length, 1, "no in-process retry for this failure");
    });
  });
}

Deno.test("gemini: a truncated answer says so", async () => {
  await withGemini(async (fake, provider) => {
    fake.script({ kind: "truncated" });
    const error = await expectProviderError(
      provider().transcribe({ audio: makeWav(12), mimeType: "audio/wav", filename: "a.wav" }),
      "malformed_output",
      "retryable",
    );
    assert.match(error.message, /truncated/);
  });
});

Deno.test("gemini: a wrong API key is a permanent provider_auth", async () => {
  await withGemini(async (_fake, provider) => {
    await expectProviderError(
      provider({ apiKey: "wrong" }).transcribe({
        audio: makeWav(1),
        mimeType: "audio/wav",
        filename: "a.wav",
      }),
      "provider_auth",
      "permanent",
    );
  });
});

Deno.test("gemini: a slow answer is a retryable provider_timeout", async () => {
  await withGemini(async (fake, provider) => {
    fake.script({ kind: "ok", latencyMs: 3_000 });
    const started = performance.now();
    await expectProviderError(
      provider({ timeoutMs: 200 }).transcribe({
        audio: makeWav(1),
        mimeType: "audio/wav",
        filename: "a.wav",
      }),
      "provider_timeout",
      "retryable",
    );
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 200 && elapsed < 2_000, `gave up after ${elapsed} ms`);
  });
});

Deno.test("gemini: cancelling rejects with the caller's reason, not a provider error", async () => {
  await withGemini(async (fake, provider) => {
    fake.script({ kind: "ok", latencyMs: 3_000 });
    const controller = new AbortController();
    const reason = new Error("job cancelled");
    setTimeout(() => controller.abort(reason), 100);
    await assert.rejects(
      provider().transcribe({
        audio: makeWav(1),
        mimeType: "audio/wav",
        filename: "a.wav",
        signal: controller.signal,
      }),
      (error) => error === reason,
    );
  });
});

Deno.test("gemini: an unreachable server is a retryable network_error", async () => {
  const gone = startGeminiFake();
  await gone.close();
  await expectProviderError(
    new GeminiProvider({ apiKey: gone.apiKey, model: MODEL, baseUrl: gone.url }).transcribe({
      audio: makeWav(1),
      mimeType: "audio/wav",
      filename: "a.wav",
    }),
    "network_error",
    "retryable",
  );
});

const segments: Segment[] = [
  {
    start: 0,
    end: 2.5,
    text: "Hello there.",
    speaker: "Speaker 1",
    words: [{ text: "Hello", start: 0, end: 1 }, { text: "there.", start: 1.2, end: 2.5 }],
  },
  { start: 3, end: 5, text: "How are you?", speaker: "Speaker 2" },
  { start: 6, end: 7, text: "Fine.", speaker: "Speaker 1" },
];

Deno.test("gemini: translate keeps count, timings and speakers", async () => {
  await withGemini(async (fake, provider) => {
    const translated = await provider().translate({ segments, from: "en", to: "de" });
    assert.deepEqual(translated, [
      { start: 0, end: 2.5, text: "[de] Hello there.", speaker: "Speaker 1" },
      { start: 3, end: 5, text: "[de] How are you?", speaker: "Speaker 2" },
      { start: 6, end: 7, text: "[de] Fine.", speaker: "Speaker 1" },
    ]);
    const body = generateRequests(fake)[0].json as Json;
    assert.match(
      body.systemInstruction.parts[0].text,
      /from the language "en" into the language "de"/,
    );
    assert.deepEqual(JSON.parse(body.contents[0].parts[0].text), {
      segments: [
        { id: 0, text: "Hello there." },
        { id: 1, text: "How are you?" },
        { id: 2, text: "Fine." },
      ],
    });
  });
});

Deno.test("gemini: long transcripts are translated in batches, reassembled in order", async () => {
  await withGemini(async (fake, provider) => {
    const many: Segment[] = Array.from({ length: 40 }, (_, i) => ({
      start: i,
      end: i + 1,
      text: `${i} ${"word ".repeat(60)}`.trim(),
    }));
    const translated = await provider().translate({ segments: many, from: "en", to: "fr" });
    assert.ok(generateRequests(fake).length > 1, "more than one batch");
    assert.deepEqual(translated.map((s) => s.start), many.map((s) => s.start));
    assert.deepEqual(translated.map((s) => s.text), many.map((s) => `[fr] ${s.text}`));
  });
});

Deno.test("gemini: a translation missing a segment is malformed_output", async () => {
  await withGemini(async (fake, provider) => {
    fake.script({ kind: "payload", payload: { translations: [{ id: 0, text: "Hallo." }] } });
    await expectProviderError(
      provider().translate({ segments, from: "en", to: "de" }),
      "malformed_output",
      "retryable",
    );
  });
});

Deno.test("gemini: summarize returns summary, chapters and key points", async () => {
  await withGemini(async (fake, provider) => {
    fake.script({
      kind: "payload",
      payload: {
        summary: "Two people greet each other.",
        chapters: [
          { start: 3, title: "Asking", summary: "" },
          { start: 0, title: "Greeting", summary: "They say hello." },
        ],
        keyPoints: ["They greet.", "They are fine."],
      },
    });
    const summary = await provider().summarize({
      transcript: { language: "en", segments },
      language: "en",
    });
    assert.deepEqual(summary, {
      summary: "Two people greet each other.",
      chapters: [
        { start: 0, title: "Greeting", summary: "They say hello." },
        { start: 3, title: "Asking" },
      ],
      keyPoints: ["They greet.", "They are fine."],
    });
    const body = generateRequests(fake)[0].json as Json;
    assert.equal(body.contents[0].parts[0].text.split("\n")[1], "[3.0] Speaker 2: How are you?");
    assert.deepEqual(Object.keys(body.generationConfig.responseJsonSchema.properties), [
      "summary",
      "chapters",
      "keyPoints",
    ]);
  });
});

Deno.test("gemini: summarize of a transcript without speech asks nobody", async () => {
  await withGemini(async (fake, provider) => {
    const summary = await provider().summarize({
      transcript: { language: "en", segments: [] },
      language: "en",
    });
    assert.deepEqual(summary, { summary: "", chapters: [], keyPoints: [] });
    assert.equal(fake.requests.length, 0);
  });
});
