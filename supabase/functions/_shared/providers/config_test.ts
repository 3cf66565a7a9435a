import assert from "node:assert/strict";
import { makeWav } from "../../../../scripts/tests/fakes/deterministic.ts";
import { expectProviderError } from "../../../../scripts/tests/fakes/expect_provider_error.ts";
import { startGeminiFake } from "../../../../scripts/tests/fakes/gemini_fake.ts";
import { startOpenAiFake } from "../../../../scripts/tests/fakes/openai_fake.ts";
import { classifyFailure } from "../engine/failure.ts";
import { isHosted, textProviderFromEnv, transcriptionProviderFromEnv } from "./config.ts";

const chunk = { audio: makeWav(5), mimeType: "audio/wav", filename: "chunk-000.wav" };
const transcript = {
  language: "en",
  segments: [{ start: 0, end: 1, text: "hello", speaker: "Speaker 1" }],
};

Deno.test("config: with nothing set, transcription goes to the offline server without a key", async () => {
  const offline = startOpenAiFake();
  try {
    const provider = transcriptionProviderFromEnv({ OFFLINE_ASR_URL: offline.url });
    assert.equal(provider.name, "offline");
    const result = await provider.transcribe(chunk);
    assert.equal(result.segments.length, 1);
    assert.equal(offline.requests[0].path, "/v1/audio/transcriptions");
    assert.equal(offline.requests[0].headers.authorization, undefined);
  } finally {
    await offline.close();
  }
});

Deno.test("config: empty variables count as unset", () => {
  const env = { TRANSCRIBE_PROVIDER: "", TEXT_PROVIDER: " ", OFFLINE_ASR_URL: "" };
  assert.equal(transcriptionProviderFromEnv(env).name, "offline");
  assert.equal(textProviderFromEnv(env).name, "none");
});

Deno.test("config: with no text provider, translate and summarize refuse with needs_provider", async () => {
  const text = textProviderFromEnv({ GEMINI_API_KEY: "set-but-not-chosen" });
  assert.equal(text.name, "none");
  const translateError = await expectProviderError(
    text.translate({ segments: transcript.segments, from: "en", to: "de" }),
    "needs_provider",
    "permanent",
  );
  assert.match(translateError.message, /TEXT_PROVIDER/);
  await expectProviderError(
    text.summarize({ transcript, language: "en" }),
    "needs_provider",
    "permanent",
  );
});

Deno.test("config: gemini is built from its variables and talks to GEMINI_BASE_URL", async () => {
  const fake = startGeminiFake({ apiKey: "key-from-env" });
  try {
    const env = {
      TRANSCRIBE_PROVIDER: "gemini",
      TEXT_PROVIDER: "gemini",
      GEMINI_API_KEY: "key-from-env",
      GEMINI_BASE_URL: fake.url,
      GEMINI_MODEL: "gemini-from-env",
    };
    const provider = transcriptionProviderFromEnv(env);
    assert.equal(provider.name, "gemini");
    await provider.transcribe(chunk);
    const summary = await textProviderFromEnv(env).summarize({ transcript, language: "en" });
    assert.equal(summary.summary, "A recording of 1 lines.");
    assert.deepEqual(fake.requests.map((r) => r.path), [
      "/v1beta/models/gemini-from-env:generateContent",
      "/v1beta/models/gemini-from-env:generateContent",
    ]);
  } finally {
    await fake.close();
  }
});

Deno.test("config: openai against a keyless server needs only OPENAI_BASE_URL", async () => {
  const fake = startOpenAiFake();
  try {
    const env = {
      TRANSCRIBE_PROVIDER: "openai",
      TEXT_PROVIDER: "openai",
      OPENAI_BASE_URL: fake.url,
      OPENAI_TRANSCRIBE_MODEL: "whisper-from-env",
      OPENAI_CHAT_MODEL: "chat-from-env",
    };
    await transcriptionProviderFromEnv(env).transcribe(chunk);
    await textProviderFromEnv(env).translate({
      segments: transcript.segments,
      from: "en",
      to: "de",
    });
    assert.equal(fake.requests[0].form?.model, "whisper-from-env");
    assert.equal((fake.requests[1].json as { model: string }).model, "chat-from-env");
  } finally {
    await fake.close();
  }
});

Deno.test("config: missing keys and bad values are permanent provider_misconfigured", async () => {
  const cases: Record<string, string>[] = [
    { TRANSCRIBE_PROVIDER: "gemini" },
    { TRANSCRIBE_PROVIDER: "gemini", GEMINI_API_KEY: "" },
    { TRANSCRIBE_PROVIDER: "openai" },
    { TRANSCRIBE_PROVIDER: "whisperx" },
    { OFFLINE_ASR_URL: "not a url" },
  ];
  for (const env of cases) {
    await expectProviderError(
      Promise.resolve().then(() => transcriptionProviderFromEnv(env)),
      "provider_misconfigured",
      "permanent",
    );
  }
  await expectProviderError(
    Promise.resolve().then(() => textProviderFromEnv({ TEXT_PROVIDER: "gemini" })),
    "provider_misconfigured",
    "permanent",
  );
});

Deno.test("config: a hosted project is recognised by its https URL off this machine, or explicitly", () => {
  assert.equal(isHosted({ SUPABASE_URL: "https://abcdefghijklmnop.supabase.co" }), true);
  assert.equal(isHosted({ SUPABASE_URL: "https://subs.example.com" }), true);
  assert.equal(isHosted({ SUPABASE_URL: "http://127.0.0.1:54321" }), false);
  assert.equal(isHosted({ SUPABASE_URL: "http://kong:8000" }), false); // supabase start
  assert.equal(isHosted({ SUPABASE_URL: "https://localhost:8443" }), false);
  assert.equal(isHosted({}), false);
  assert.equal(isHosted({ SUPABASE_URL: "http://127.0.0.1:54321", AI_SUBS_HOSTED: "1" }), true);
  assert.equal(isHosted({ SUPABASE_URL: "https://x.supabase.co", AI_SUBS_HOSTED: "0" }), false);
});

Deno.test("config: on a hosted project the offline engine is refused at once with needs_provider", async () => {
  for (const env of [{}, { TRANSCRIBE_PROVIDER: "offline" }]) {
    const error = await expectProviderError(
      Promise.resolve().then(() =>
        transcriptionProviderFromEnv({ SUPABASE_URL: "https://x.supabase.co", ...env })
      ),
      "needs_provider",
      "permanent",
    );
    assert.match(error.message, /TRANSCRIBE_PROVIDER/);
    assert.equal(classifyFailure(error).retryable, false);
  }
  // An offline-compatible server the user hosts on the internet is reachable from there.
  const remote = transcriptionProviderFromEnv({
    SUPABASE_URL: "https://x.supabase.co",
    OFFLINE_ASR_URL: "https://asr.example.com",
  });
  assert.equal(remote.name, "offline");
});
