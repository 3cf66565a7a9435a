/**
 * The one place a step's exception becomes a stable error code and a retry decision. The
 * friendly message a user sees for each code lives in SQL (the error code table), so the
 * database, the web app and every function agree on it.
 */
import { ZodError } from "zod";
import { ProviderError } from "../providers/errors.ts";

export interface Failure {
  code: string;
  retryable: boolean;
  /** Technical detail: logs and the events table, never shown to users as is. */
  message: string;
  retryAfterMs?: number;
}

/** Thrown by steps for failures that are not a provider's (bad media, bad manifest...). */
export class StepError extends Error {
  constructor(readonly code: string, message: string, readonly retryable = false) {
    super(message);
    this.name = "StepError";
  }
}

export function classifyFailure(error: unknown): Failure {
  if (error instanceof ProviderError) {
    return {
      code: error.code === "provider_misconfigured" || error.code === "invalid_request"
        ? "provider_refused"
        : error.code,
      retryable: error.kind === "retryable",
      message: error.message,
      retryAfterMs: error.retryAfterMs,
    };
  }
  if (error instanceof StepError) {
    return { code: error.code, retryable: error.retryable, message: error.message };
  }
  if (error instanceof ZodError) {
    return { code: "malformed_output", retryable: true, message: error.message.slice(0, 2000) };
  }
  if (error instanceof DOMException && error.name === "TimeoutError") {
    return { code: "provider_timeout", retryable: true, message: error.message };
  }
  if (error instanceof TypeError && /fetch|network|connect/i.test(error.message)) {
    return { code: "network_error", retryable: true, message: error.message };
  }
  return {
    code: "internal",
    retryable: true,
    message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  };
}
