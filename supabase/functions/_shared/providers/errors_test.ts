import assert from "node:assert/strict";
import {
  classifyHttpStatus,
  isRetryable,
  ProviderError,
  retryAfterFromHeaders,
  retryDelayFromBody,
} from "./errors.ts";

const openAiBody = (message: string) =>
  JSON.stringify({ error: { message, type: "invalid_request_error", param: null, code: null } });
const googleBody = (code: number, message: string, status: string, details: unknown[] = []) =>
  JSON.stringify({ error: { code, message, status, details } });

Deno.test("classifyHttpStatus: passing failures are retryable", () => {
  const cases: [number, string][] = [
    [429, "rate_limited"],
    [408, "provider_timeout"],
    [504, "provider_timeout"],
    [500, "provider_unavailable"],
    [502, "provider_unavailable"],
    [503, "provider_unavailable"],
  ];
  for (const [status, code] of cases) {
    const error = classifyHttpStatus(status, "{}");
    assert.equal(error.code, code, `HTTP ${status}`);
    assert.equal(error.kind, "retryable", `HTTP ${status}`);
    assert.equal(error.status, status);
  }
});

Deno.test("classifyHttpStatus: input and setup failures are permanent", () => {
  const cases: [number, string, string][] = [
    [401, openAiBody("Incorrect API key provided."), "provider_auth"],
    [403, googleBody(403, "Permission denied.", "PERMISSION_DENIED"), "provider_auth"],
    [
      400,
      googleBody(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT"),
      "provider_auth",
    ],
    [
      400,
      openAiBody(
        "Invalid language 'xx'. Language parameter must be specified in ISO-639-1 format.",
      ),
      "unsupported_language",
    ],
    [400, googleBody(400, "Unsupported language: tlh", "INVALID_ARGUMENT"), "unsupported_language"],
    [
      400,
      openAiBody("Invalid file format. Supported formats: ['flac', 'mp3']"),
      "unreadable_media",
    ],
    [
      400,
      openAiBody("Audio file could not be decoded or its format is not supported."),
      "unreadable_media",
    ],
    [
      400,
      googleBody(400, "Unable to process input audio.", "INVALID_ARGUMENT"),
      "unreadable_media",
    ],
    [
      400,
      openAiBody("Your request was rejected as a result of our safety system."),
      "provider_refused",
    ],
    [404, googleBody(404, "models/nope is not found", "NOT_FOUND"), "invalid_request"],
    [400, openAiBody("'model' is a required property"), "invalid_request"],
  ];
  for (const [status, body, code] of cases) {
    const error = classifyHttpStatus(status, body);
    assert.equal(error.code, code, body);
    assert.equal(error.kind, "permanent", body);
  }
});

Deno.test("classifyHttpStatus: the message carries the provider's words, not the JSON", () => {
  const error = classifyHttpStatus(503, googleBody(503, "The model is overloaded.", "UNAVAILABLE"));
  assert.equal(error.message, "provider answered HTTP 503: The model is overloaded.");
});

Deno.test("classifyHttpStatus: Gemini's RetryInfo becomes retryAfterMs", () => {
  const body = googleBody(429, "Quota exceeded", "RESOURCE_EXHAUSTED", [
    { "@type": "type.googleapis.com/google.rpc.QuotaFailure", violations: [] },
    { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "37s" },
  ]);
  assert.equal(classifyHttpStatus(429, body).retryAfterMs, 37_000);
  assert.equal(
    retryDelayFromBody(googleBody(429, "q", "RESOURCE_EXHAUSTED", [{
      "@type": "type.googleapis.com/google.rpc.RetryInfo",
      retryDelay: "1.250s",
    }])),
    1_250,
  );
  assert.equal(retryDelayFromBody("not json"), undefined);
});

Deno.test("classifyHttpStatus: Retry-After headers win over the body", () => {
  const body = googleBody(429, "q", "RESOURCE_EXHAUSTED", [
    { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "37s" },
  ]);
  const error = classifyHttpStatus(429, body, new Headers({ "retry-after": "2" }));
  assert.equal(error.retryAfterMs, 2_000);
});

Deno.test("retryAfterFromHeaders: milliseconds, seconds and HTTP dates", () => {
  assert.equal(
    retryAfterFromHeaders(new Headers({ "retry-after-ms": "250", "retry-after": "1" })),
    250,
  );
  assert.equal(retryAfterFromHeaders(new Headers({ "retry-after": "3" })), 3_000);
  const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
  const fromDate = retryAfterFromHeaders(new Headers({ "retry-after": inTenSeconds }));
  assert.ok(fromDate !== undefined && fromDate > 8_000 && fromDate <= 10_000, String(fromDate));
  assert.equal(retryAfterFromHeaders(new Headers()), undefined);
  assert.equal(retryAfterFromHeaders(new Headers({ "retry-after": "soon" })), undefined);
});

Deno.test("ProviderError: kind follows the code", () => {
  assert.equal(new ProviderError("malformed_output", "x").kind, "retryable");
  assert.equal(new ProviderError("needs_provider", "x").kind, "permanent");
  assert.ok(isRetryable(new ProviderError("network_error", "x")));
  assert.ok(!isRetryable(new ProviderError("unreadable_media", "x")));
  assert.ok(!isRetryable(new Error("plain")));
});
