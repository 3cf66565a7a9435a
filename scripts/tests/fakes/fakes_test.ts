/**
 * The fakes themselves: what benchmarks and pipelines rely on beyond the provider tests
 * (deterministic output, the per-request latency knob, protocol checks).
 */
import assert from "node:assert/strict";
import { audioSeconds, fakeSegments, makeWav } from "./deterministic.ts";
import { startGeminiFake } from "./gemini_fake.ts";
import { startOpenAiFake } from "./openai_fake.ts";

Deno.test("deterministic: WAV duration comes from the header", () => {
  assert.equal(audioSeconds(makeWav(7.5)), 7.5);
  assert.equal(audioSeconds(makeWav(2, 16_000)), 2);
  assert.equal(audioSeconds(new Uint8Array(32_000)), 2, "non-WAV: estimated at 128 kbit/s");
});

Deno.test("deterministic: five words per five seconds, last segment clipped", () => {
  const segments = fakeSegments(7);
  assert.deepEqual(segments.map((s) => [s.start, s.end, s.speaker]), [
    [0, 5, "Speaker 1"],
    [5, 7, "Speaker 2"],
  ]);
  assert.equal(segments[1].text, "foxtrot golf hotel india juliet");
  assert.deepEqual(segments[1].words[0], { text: "foxtrot", start: 5, end: 5.36 });
  assert.deepEqual(fakeSegments(0), []);
});

Deno.test("fakes: the default latency applies to every model request", async () => {
  const fake = startOpenAiFake({ latencyMs: 150 });
  try {
    const form = new FormData();
    form.append("file", new Blob([makeWav(1)], { type: "audio/wav" }), "a.wav");
    form.append("model", "whisper-1");
    form.append("response_format", "verbose_json");
    const started = performance.now();
    const response = await fetch(`${fake.url}/v1/audio/transcriptions`, {
      method: "POST",
      body: form,
    });
    const body = await response.json();
    assert.ok(performance.now() - started >= 150);
    assert.equal(body.text, "alpha bravo charlie delta echo");
    assert.equal(body.words, undefined, "no words unless the word granularity is asked for");
  } finally {
    await fake.close();
  }
});

Deno.test("fakes: scripted behaviours are used in order, then the default returns", async () => {
  const fake = startOpenAiFake();
  try {
    fake.script(
      { kind: "error", status: 503, message: "busy" },
      { kind: "rate_limited", retryAfterMs: 1_500 },
    );
    assert.equal(fake.pending, 2);
    const post = () =>
      fetch(`${fake.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content: "[0.0] A: hi" }] }),
      });
    const first = await post();
    await first.body?.cancel();
    const second = await post();
    await second.body?.cancel();
    const third = await post();
    await third.body?.cancel();
    assert.deepEqual([first.status, second.status, third.status], [503, 429, 200]);
    assert.equal(second.headers.get("retry-after-ms"), "1500");
    assert.equal(second.headers.get("retry-after"), "2");
  } finally {
    await fake.close();
  }
});

Deno.test("gemini fake: uploads must continue at the received offset", async () => {
  const fake = startGeminiFake();
  try {
    const headers = { "x-goog-api-key": fake.apiKey };
    const start = await fetch(`${fake.url}/upload/v1beta/files`, {
      method: "POST",
      headers: {
        ...headers,
        "content-type": "application/json",
        "x-goog-upload-protocol": "resumable",
        "x-goog-upload-command": "start",
      },
      body: JSON.stringify({ file: { mimeType: "audio/wav" } }),
    });
    await start.body?.cancel();
    const uploadUrl = start.headers.get("x-goog-upload-url");
    assert.ok(uploadUrl);
    const wrong = await fetch(uploadUrl, {
      method: "POST",
      headers: { ...headers, "x-goog-upload-command": "upload", "x-goog-upload-offset": "10" },
      body: new Uint8Array(4),
    });
    assert.equal(wrong.status, 400);
    await wrong.body?.cancel();
    const final = await fetch(uploadUrl, {
      method: "POST",
      headers: {
        ...headers,
        "x-goog-upload-command": "upload, finalize",
        "x-goog-upload-offset": "0",
      },
      body: new Uint8Array(4),
    });
    assert.equal(final.headers.get("x-goog-upload-status"), "final");
    const { file } = await final.json();
    assert.equal(file.state, "ACTIVE");
    assert.equal(file.sizeBytes, "4");
    const got = await fetch(`${fake.url}/v1beta/${file.name}`, { headers });
    assert.equal((await got.json()).uri, file.uri);
  } finally {
    await fake.close();
  }
});

Deno.test("gemini fake: requests without the key are rejected like Google does", async () => {
  const fake = startGeminiFake();
  try {
    const response = await fetch(`${fake.url}/v1beta/models/m:generateContent`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    const body = await response.json();
    assert.equal(response.status, 400);
    assert.equal(body.error.status, "INVALID_ARGUMENT");
  } finally {
    await fake.close();
  }
});
