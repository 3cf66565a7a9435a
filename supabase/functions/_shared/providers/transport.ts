/**
 * How providers talk HTTP: every request gets its own timeout and honours the caller's signal,
 * and every way a request can fail ends as a `ProviderError` (or, when the caller cancelled,
 * as the caller's own abort reason). One `Transport` per provider call; it holds no state
 * between calls.
 */
import { classifyHttpStatus, ProviderError } from "./errors.ts";

export interface TransportOptions {
  /** Bound on one HTTP request, body included. */
  timeoutMs: number;
  /** The caller's cancellation; never reported as a provider failure. */
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

export class Transport {
  readonly #timeoutMs: number;
  readonly #signal?: AbortSignal;
  readonly #fetch: typeof fetch;
  /** Headers of the latest non-2xx response; the Gemini SDK drops them from its errors. */
  lastFailureHeaders?: Headers;

  constructor(options: TransportOptions) {
    this.#timeoutMs = options.timeoutMs;
    this.#signal = options.signal;
    this.#fetch = options.fetch ?? fetch;
  }

  /** A drop-in `fetch` (the Gemini SDK takes it through `httpOptions.fetch`). */
  readonly fetch = async (
    input: RequestInfo | URL,
    init: RequestInit = {},
  ): Promise<Response> => {
    const signals = [AbortSignal.timeout(this.#timeoutMs)];
    if (init.signal) signals.push(init.signal);
    if (this.#signal) signals.push(this.#signal);
    let response: Response;
    try {
      response = await this.#fetch(input, { ...init, signal: AbortSignal.any(signals) });
    } catch (error) {
      throw this.toProviderError(error);
    }
    if (!response.ok) this.lastFailureHeaders = response.headers;
    return response;
  };

  /** Send a request and read its whole body within the timeout; non-2xx becomes an error. */
  async text(input: string, init: RequestInit): Promise<string> {
    try {
      const response = await this.fetch(input, init);
      const body = await response.text();
      if (!response.ok) throw classifyHttpStatus(response.status, body, response.headers);
      return body;
    } catch (error) {
      throw this.toProviderError(error);
    }
  }

  /** `withRateLimitRetries` over an attempt whose failures this transport classifies. */
  retrying<T>(attempt: () => Promise<T>, policy: RateLimitPolicy): Promise<T> {
    return withRateLimitRetries(
      async () => {
        try {
          return await attempt();
        } catch (error) {
          throw this.toProviderError(error);
        }
      },
      policy,
      this.#signal,
    );
  }

  /**
   * Map whatever a request or the SDK around it threw. Rethrows the caller's abort reason
   * as is: cancelling is the caller's decision, not a provider failure.
   */
  toProviderError(error: unknown): ProviderError {
    if (this.#signal?.aborted) throw this.#signal.reason;
    if (error instanceof ProviderError) return error;
    const name = error instanceof Error || error instanceof DOMException ? error.name : "";
    const message = error instanceof Error ? error.message : String(error);
    if (name === "TimeoutError" || name === "AbortError") {
      return new ProviderError(
        "provider_timeout",
        `provider did not answer within ${this.#timeoutMs} ms`,
        { cause: error },
      );
    }
    // The Gemini SDK's ApiError: a numeric status and the raw error body as message.
    const status = (error as { status?: unknown } | null)?.status;
    if (typeof status === "number" && status >= 400) {
      return classifyHttpStatus(status, message, this.lastFailureHeaders);
    }
    if (error instanceof SyntaxError) {
      return new ProviderError("malformed_output", `provider sent invalid JSON: ${message}`, {
        cause: error,
      });
    }
    if (error instanceof TypeError) {
      return new ProviderError("network_error", `could not reach provider: ${message}`, {
        cause: error,
      });
    }
    return new ProviderError("provider_unavailable", `provider call failed: ${message}`, {
      cause: error,
    });
  }
}

export interface RateLimitPolicy {
  /** In-process retries after a 429 before handing the wait to the pipeline. */
  maxRetries: number;
  /** Total time this call may spend waiting for rate limits. */
  budgetMs: number;
  /** Wait used when the provider names none. */
  fallbackDelayMs: number;
}

export const DEFAULT_RATE_LIMIT_POLICY: RateLimitPolicy = {
  maxRetries: 3,
  budgetMs: 30_000,
  fallbackDelayMs: 2_000,
};

/**
 * Run `attempt`, waiting out 429s the provider told us how long to wait for, as long as the
 * wait fits the budget. Past that the `rate_limited` error goes to the caller with
 * `retryAfterMs` set, so the pipeline can schedule the task instead of burning wall clock.
 */
export async function withRateLimitRetries<T>(
  attempt: () => Promise<T>,
  policy: RateLimitPolicy,
  signal?: AbortSignal,
): Promise<T> {
  const deadline = Date.now() + policy.budgetMs;
  for (let retry = 0;; retry++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof ProviderError) || error.code !== "rate_limited") throw error;
      const waitMs = error.retryAfterMs ?? policy.fallbackDelayMs * 2 ** retry;
      if (retry >= policy.maxRetries || Date.now() + waitMs > deadline) {
        if (error.retryAfterMs !== undefined) throw error;
        throw new ProviderError("rate_limited", error.message, {
          retryAfterMs: waitMs,
          status: error.status,
          cause: error.cause,
        });
      }
      await sleep(waitMs, signal);
    }
  }
}

/** A timer that ends early (rejecting with the reason) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
