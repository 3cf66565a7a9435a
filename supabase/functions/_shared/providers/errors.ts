/**
 * One error type for everything a provider can fail with. The pipeline only needs two answers
 * from it: may this task be tried again (`kind`), and which stable `code` explains it to users
 * and logs. `classifyHttpStatus` is the single place that turns an HTTP failure of any provider
 * into such an error.
 */

/** Codes whose cause is passing: trying the same task again later can succeed. */
const RETRYABLE_CODES = [
  "rate_limited",
  "provider_timeout",
  "provider_unavailable",
  "network_error",
  "malformed_output",
] as const;

/** Codes whose cause is the input or the setup: the same task would fail the same way. */
const PERMANENT_CODES = [
  "unsupported_language",
  "unreadable_media",
  "provider_refused",
  "needs_provider",
  "provider_auth",
  "provider_misconfigured",
  "invalid_request",
] as const;

export type RetryableCode = typeof RETRYABLE_CODES[number];
export type PermanentCode = typeof PERMANENT_CODES[number];
export type ProviderErrorCode = RetryableCode | PermanentCode;
export type ProviderErrorKind = "retryable" | "permanent";

export interface ProviderErrorOptions {
  /** How long the provider asked us to wait before the next attempt. */
  retryAfterMs?: number;
  /** HTTP status of the failed response, when there was one. */
  status?: number;
  cause?: unknown;
}

export class ProviderError extends Error {
  override readonly name = "ProviderError";
  readonly code: ProviderErrorCode;
  /** Derived from `code`, so the two can never disagree. */
  readonly kind: ProviderErrorKind;
  readonly retryAfterMs?: number;
  readonly status?: number;

  constructor(code: ProviderErrorCode, message: string, options: ProviderErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.kind = (RETRYABLE_CODES as readonly string[]).includes(code) ? "retryable" : "permanent";
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    if (options.status !== undefined) this.status = options.status;
  }
}

export function isRetryable(error: unknown): boolean {
  return error instanceof ProviderError && error.kind === "retryable";
}

// Providers word the same 400 differently; these match OpenAI, Groq, whisper servers and Gemini.
const UNSUPPORTED_LANGUAGE =
  /(language\b.*\b(unsupported|not supported|invalid|unknown|not recogni[sz]ed))|((unsupported|invalid|unknown) language)/i;
const UNREADABLE_MEDIA =
  /invalid file format|could not (be )?decode|failed to decode|unable to process (the )?(input )?(audio|file|media)|unsupported (file|audio|media|mime)|(audio|file|media).*(corrupt|unreadable|not supported|malformed)/i;
const REFUSED = /safety|content[ _]policy|blocked|prohibited|refus/i;
const AUTH = /api[ _]?key|unauthenticated|permission[ _]denied|unauthori[sz]ed|invalid[ _]auth/i;

/**
 * Classify a failed HTTP response of any provider. `body` is the raw response text; Gemini's
 * google.rpc.RetryInfo `retryDelay` in it and the `Retry-After`/`retry-after-ms` headers both
 * become `retryAfterMs`.
 */
export function classifyHttpStatus(
  status: number,
  body: string,
  headers?: Headers,
): ProviderError {
  const retryAfterMs = retryAfterFromHeaders(headers) ?? retryDelayFromBody(body);
  const detail = errorMessageFromBody(body);
  const message = `provider answered HTTP ${status}${detail ? `: ${detail}` : ""}`;
  const options = { status, retryAfterMs };

  if (status === 429) return new ProviderError("rate_limited", message, options);
  if (status === 408 || status === 504) {
    return new ProviderError("provider_timeout", message, options);
  }
  if (status >= 500 || status === 409) {
    return new ProviderError("provider_unavailable", message, options);
  }
  if (status === 401 || status === 403) return new ProviderError("provider_auth", message, options);
  // Gemini answers a bad API key with 400 INVALID_ARGUMENT, so the body decides from here on.
  if (AUTH.test(body)) return new ProviderError("provider_auth", message, options);
  if (UNSUPPORTED_LANGUAGE.test(body)) {
    return new ProviderError("unsupported_language", message, options);
  }
  if (UNREADABLE_MEDIA.test(body)) return new ProviderError("unreadable_media", message, options);
  if (REFUSED.test(body)) return new ProviderError("provider_refused", message, options);
  if (status >= 400) return new ProviderError("invalid_request", message, options);
  // Anything else that is not a success (1xx/3xx reaching us) is a broken hop on the way.
  return new ProviderError("provider_unavailable", message, options);
}

/** `Retry-After` (seconds or HTTP date) and OpenAI's `retry-after-ms`, in milliseconds. */
export function retryAfterFromHeaders(headers?: Headers): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get("retry-after-ms");
  if (ms !== null && Number.isFinite(Number(ms)) && Number(ms) >= 0) return Number(ms);
  const value = headers.get("retry-after");
  if (value === null) return undefined;
  const seconds = Number(value);
  if (value.trim() !== "" && Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Gemini's `{"error": {"details": [{"@type": "...RetryInfo", "retryDelay": "1.5s"}]}}`. */
export function retryDelayFromBody(body: string): number | undefined {
  const parsed = parseJson(body);
  const details = asRecord(asRecord(parsed)?.error)?.details;
  if (!Array.isArray(details)) return undefined;
  for (const detail of details) {
    const record = asRecord(detail);
    const type = record?.["@type"];
    const delay = record?.retryDelay;
    if (typeof type === "string" && type.endsWith("google.rpc.RetryInfo")) {
      const match = typeof delay === "string" ? /^(\d+(?:\.\d+)?)s$/.exec(delay) : null;
      if (match) return Math.round(Number(match[1]) * 1000);
    }
  }
  return undefined;
}

/** The human part of an error body (`error.message` in both Gemini and OpenAI shapes). */
function errorMessageFromBody(body: string): string {
  const message = asRecord(asRecord(parseJson(body))?.error)?.message;
  const text = typeof message === "string" ? message : body;
  return text.trim().slice(0, 500);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Record<string, unknown>
    : undefined;
}
