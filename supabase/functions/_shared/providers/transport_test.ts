import assert from "node:assert/strict";
import { expectProviderError } from "../../../../scripts/tests/fakes/expect_provider_error.ts";
import { ProviderError } from "./errors.ts";
import { sleep, withRateLimitRetries } from "./transport.ts";

const policy = { maxRetries: 2, budgetMs: 5_000, fallbackDelayMs: 20 };

Deno.test("withRateLimitRetries: without a named wait, backs off and reports the next wait", async () => {
  const calls: number[] = [];
  const error = await expectProviderError(
    withRateLimitRetries(() => {
      calls.push(performance.now());
      return Promise.reject(new ProviderError("rate_limited", "slow down"));
    }, policy),
    "rate_limited",
    "retryable",
  );
  assert.equal(calls.length, 3);
  assert.ok(calls[1] - calls[0] >= 20, "first wait is the fallback delay");
  assert.ok(calls[2] - calls[1] >= 40, "then it doubles");
  assert.equal(error.retryAfterMs, 80, "the pipeline is told the next wait");
});

Deno.test("withRateLimitRetries: other failures pass through untouched and untried", async () => {
  let calls = 0;
  const failure = new ProviderError("provider_unavailable", "down");
  await assert.rejects(
    withRateLimitRetries(() => {
      calls++;
      return Promise.reject(failure);
    }, policy),
    (error) => error === failure,
  );
  assert.equal(calls, 1);
});

Deno.test("withRateLimitRetries: a cancelled wait ends at once with the caller's reason", async () => {
  const controller = new AbortController();
  const reason = new Error("cancelled");
  setTimeout(() => controller.abort(reason), 50);
  const started = performance.now();
  await assert.rejects(
    withRateLimitRetries(
      () => Promise.reject(new ProviderError("rate_limited", "x", { retryAfterMs: 3_000 })),
      policy,
      controller.signal,
    ),
    (error) => error === reason,
  );
  assert.ok(performance.now() - started < 1_000);
});

Deno.test("sleep: waits at least the time asked", async () => {
  const started = performance.now();
  await sleep(30);
  assert.ok(performance.now() - started >= 30);
});
