/**
 * OpenAiProvider against scripts/tests/fakes/openai_fake.ts, plus the verbose_json mapping on its own.
 */
import assert from "node:assert/strict";
import { makeWav } from "../../../../scripts/tests/fakes/deterministic.ts";
import { expectProviderError } from "../../../../scripts/tests/fakes/expect_provider_error.ts";
import type { FakeServer } from "../../../../scripts/tests/fakes/fake_server.ts";
import { startOpenAiFake } from "../../../../scripts/tests/fakes/openai_fake.ts";
import type { Segment } from "../subtitles/transcript.ts";
import { type OpenAiOptions, OpenAiProvider, verboseJsonToTranscript } from "./openai.ts";

const KEY = "sk-fake";

async function withOpenAi(
  test: (
    fake: FakeServer,
    provider: (options?: Partial<OpenAiOptions>) => OpenAiProvider,
  ) => Promise<void>,
  fakeOptions: Parameters<typeof startOpenAiFake>[0] = { apiKey: KEY },
): Promise<void> {
  const fake = startOpenAiFake(fakeOptions);
  try {
    await test(fake, (options = {}) =>
      new OpenAiProvider({
        baseUrl: fake.url,
        apiKey: KEY,
        rateLimit: { maxRetries: 3, budgetMs: 5_000, fallbackDelayMs: 10 },
        ...options,
      }));
  } finally {
    await fake.close();
  }
}

const chunk = (seconds = 12) => ({
  audio: makeWav(seconds),
  mimeType: "audio/wav",
  filename: "chunk-000.wav",
});

Deno.test("openai: transcription sends the multipart fields the API expects", async () => {
  await withOpenAi(async (fake, provider) => {
    await provider({ transcribeModel: "whisper-large-v3" }).transcribe({
      ...chunk(),
      language: "de",
    });
    const [request] = fake.requests;
    assert.equal(request.method, "POST");
    assert.equal(request.path, "/v1/audio/transcriptions");
    assert.equal(request.headers.authorization, `Bearer ${KEY}`);
    assert.deepEqual(request.form, {
      file: { filename: "chunk-000.wav", type: "audio/wav", size: makeWav(12).byteLength },
      model: "whisper-large-v3",
      language: "de",
      response_format: "verbose_json",
      "timestamp_granularities[]": ["word", "segment"],
    });
  });
});

Deno.test("openai: no key means no Authorization header (local whisper servers)", async () => {
  await withOpenAi(async (fake, provider) => {
    const transcript = await provider({ apiKey: undefined }).transcribe(chunk(3));
    assert.equal(fake.requests[0].headers.authorization, undefined);
    assert.equal(fake.requests[0].form?.language, undefined, "language left to detection");
    assert.equal(transcript.segments.length, 1);
  }, {});
});

Deno.test("openai: verbose_json words land in their segments", async () => {
  await withOpenAi(async (_fake, provider) => {
    const transcript = await provider().transcribe(chunk(12));
    assert.equal(transcript.language, "en", "OpenAI's 'english' becomes 'en'");
    assert.equal(transcript.duration, 12);
    assert.deepEqual(transcript.segments.map((s) => [s.start, s.end, s.text]), [
      [0, 5, "alpha bravo charlie delta echo"],
      [5, 10, "foxtrot golf hotel india juliet"],
      [10, 12, "alpha bravo charlie delta echo"],
    ]);
    for (const segment of transcript.segments) {
      assert.equal(segment.words?.map((w) => w.text).join(" "), segment.text);
      for (const word of segment.words ?? []) {
        assert.ok(word.start >= segment.start && word.end <= segment.end, JSON.stringify(word));
      }
    }
  });
});

Deno.test("verboseJsonToTranscript: words by midpoint, gaps, strays and missing segments", () => {
  const transcript = verboseJsonToTranscript({
    language: "german",
    duration: 9,
    text: "eins zwei drei vier",
    segments: [
      { start: 1, end: 3, text: " eins zwei" },
      { start: 5, end: 8, text: " drei vier" },
    ],
    words: [
      { word: " zwei", start: 2, end: 2.9 },
      { word: "eins", start: 0.5, end: 1.2 }, // before the first segment, unsorted input
      { word: "drei", start: 4.8, end: 5.4 }, // starts in the gap, mostly in segment two
      { word: "vier", start: 7.5, end: 8.5 }, // runs past the last segment's end
    ],
  });
  assert.equal(transcript.language, "de");
  assert.deepEqual(transcript.segments, [
    {
      start: 1,
      end: 3,
      text: "eins zwei",
      words: [{ text: "eins", start: 0.5, end: 1.2 }, { text: "zwei", start: 2, end: 2.9 }],
    },
    {
      start: 5,
      end: 8,
      text: "drei vier",
      words: [{ text: "drei", start: 4.8, end: 5.4 }, { text: "vier", start: 7.5, end: 8.5 }],
    },
  ]);

  const wordsOnly = verboseJsonToTranscript({
    language: "en",
    text: "hello world",
    words: [{ word: "hello", start: 0.2, end: 0.6 }, { word: "world", start: 0.7, end: 1.1 }],
  });
  assert.deepEqual(wordsOnly.segments, [{
    start: 0.2,
    end: 1.1,
    text: "hello world",
    words: [{ text: "hello", start: 0.2, end: 0.6 }, { text: "world", start: 0.7, end: 1.1 }],
  }]);

  const textOnly = verboseJsonToTranscript({ text: " hi ", duration: 2 }, "fr");
  assert.deepEqual(textOnly, {
    language: "fr",
    segments: [{ start: 0, end: 2, text: "hi" }],
    duration: 2,
  });
});

Deno.test("openai: 429 honours retry-after-ms, then succeeds", async () => {
  await withOpenAi(async (fake, provider) => {
    fake.script({ kind: "rate_limited", retryAfterMs: 250 });
    const started = performance.now();
    const transcript = await provider().transcribe(chunk(5));
    const elapsed = performance.now() - started;
    assert.equal(transcript.segments.length, 1);
    assert.equal(fake.requests.length, 2);
    assert.ok(elapsed >= 250, `waited ${elapsed} ms`);
    assert.equal(fake.requests[1].form?.model, "whisper-1", "the retry resends the whole form");
  });
});

const failures: {
  name: string;
  behaviour: Parameters<FakeServer["script"]>[0];
  code: Parameters<typeof expectProviderError>[1];
  kind: "retryable" | "permanent";
}[] = [
  {
    name: "500",
    behaviour: { kind: "error", status: 500, message: "The server had an error." },
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
    name: "a body cut in half",
    behaviour: { kind: "truncated" },
    code: "malformed_output",
    kind: "retryable",
  },
  {
    name: "400 invalid language",
    behaviour: {
      kind: "error",
      status: 400,
      message: "Invalid language 'xx'. Language parameter must be specified in ISO-639-1 format.",
    },
    code: "unsupported_language",
    kind: "permanent",
  },
  {
    name: "400 invalid file format",
    behaviour: {
      kind: "error",
      status: 400,
      message: "Invalid file format. Supported formats: ['flac', 'm4a', 'mp3', 'ogg', 'wav']",
    },
    code: "unreadable_media",
    kind: "permanent",
  },
  {
    name: "a safety rejection",
    behaviour: { kind: "refused" },
    code: "provider_refused",
    kind: "permanent",
  },
];

for (const failure of failures) {
  Deno.test(`openai: ${failure.name} → ${failure.kind} ${failure.code}`, async () => {
    await withOpenAi(async (fake, provider) => {
      fake.script(failure.behaviour);
      await expectProviderError(provider().transcribe(chunk(5)), failure.code, failure.kind);
      assert.equal(fake.requests.length, 1);
    });
  });
}

Deno.test("openai: a wrong key is a permanent provider_auth", async () => {
  await withOpenAi(async (_fake, provider) => {
    await expectProviderError(
      provider({ apiKey: "sk-wrong" }).transcribe(chunk(1)),
      "provider_auth",
      "permanent",
    );
  });
});

Deno.test("openai: a slow answer is a retryable provider_timeout", async () => {
  await withOpenAi(async (fake, provider) => {
    fake.script({ kind: "ok", latencyMs: 3_000 });
    const started = performance.now();
    await expectProviderError(
      provider({ timeoutMs: 200 }).transcribe(chunk(1)),
      "provider_timeout",
      "retryable",
    );
    assert.ok(performance.now() - started < 2_000);
  });
});

Deno.test("openai: a base URL ending in /v1 is not doubled", async () => {
  await withOpenAi(async (fake, provider) => {
    await provider({ baseUrl: `${fake.url}/v1/` }).transcribe(chunk(1));
    assert.equal(fake.requests[0].path, "/v1/audio/transcriptions");
  });
});

const segments: Segment[] = [
  {
    start: 0,
    end: 2,
    text: "Good morning.",
    speaker: "A",
    words: [{ text: "Good", start: 0, end: 0.8 }, { text: "morning.", start: 0.9, end: 2 }],
  },
  { start: 2.5, end: 4, text: "Morning!", speaker: "B" },
];

Deno.test("openai: translate uses chat completions with a strict json_schema", async () => {
  await withOpenAi(async (fake, provider) => {
    const translated = await provider({ chatModel: "gpt-test" }).translate({
      segments,
      from: "en",
      to: "es",
    });
    assert.deepEqual(translated, [
      { start: 0, end: 2, text: "[es] Good morning.", speaker: "A" },
      { start: 2.5, end: 4, text: "[es] Morning!", speaker: "B" },
    ]);
    const body = fake.requests[0].json as {
      model: string;
      messages: { role: string; content: string }[];
      response_format: {
        type: string;
        json_schema: { name: string; strict: boolean; schema: unknown };
      };
    };
    assert.equal(fake.requests[0].path, "/v1/chat/completions");
    assert.equal(body.model, "gpt-test");
    assert.equal(body.response_format.type, "json_schema");
    assert.equal(body.response_format.json_schema.strict, true);
    assert.equal(body.response_format.json_schema.name, "translation");
    assert.deepEqual(body.messages.map((m) => m.role), ["system", "user"]);
  });
});

Deno.test("openai: summarize maps the structured answer", async () => {
  await withOpenAi(async (fake, provider) => {
    const summary = await provider().summarize({
      transcript: { language: "en", segments },
      language: "en",
    });
    assert.deepEqual(summary, {
      summary: "A recording of 2 lines.",
      chapters: [{ start: 0, title: "Everything" }],
      keyPoints: ["2 lines were said."],
    });
    assert.equal(
      (fake.requests[0].json as { messages: { content: string }[] }).messages[1].content,
      "[0.0] A: Good morning.\n[2.5] B: Morning!",
    );
  });
});

Deno.test("openai: a chat answer cut at the length limit is malformed_output", async () => {
  await withOpenAi(async (fake, provider) => {
    fake.script({ kind: "truncated" });
    const error = await expectProviderError(
      provider().summarize({ transcript: { language: "en", segments }, language: "en" }),
      "malformed_output",
      "retryable",
    );
    assert.match(error.message, /truncated/);
  });
});

Deno.test("openai: a chat refusal is a permanent provider_refused", async () => {
  await withOpenAi(async (fake, provider) => {
    fake.script({ kind: "refused" });
    await expectProviderError(
      provider().translate({ segments, from: "en", to: "de" }),
      "provider_refused",
      "permanent",
    );
  });
});

Deno.test("openai: 429 on chat is retried like transcription", async () => {
  await withOpenAi(async (fake, provider) => {
    fake.script({ kind: "rate_limited", retryAfterMs: 150 });
    const started = performance.now();
    const translated = await provider().translate({ segments, from: "en", to: "de" });
    assert.equal(translated.length, 2);
    assert.ok(performance.now() - started >= 150);
    assert.equal(fake.requests.length, 2);
  });
});
