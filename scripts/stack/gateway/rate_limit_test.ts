import assert from "node:assert/strict";
import { TokenBuckets } from "./rate_limit.ts";

Deno.test("a bucket allows a burst of 30, then the hourly rate, per address", () => {
  let now = 0;
  const buckets = new TokenBuckets(30, 30, () => now);
  for (let i = 0; i < 30; i++) assert(buckets.take("10.0.0.1"), `sign-in ${i + 1} refused`);
  assert(!buckets.take("10.0.0.1"), "the 31st sign-in within the burst was allowed");
  assert(buckets.take("10.0.0.2"), "another address was limited too");
  now += 60_000; // 30 per hour: half a token a minute
  assert(!buckets.take("10.0.0.1"), "refilled too fast");
  now += 60_000;
  assert(buckets.take("10.0.0.1"), "one token after two minutes");
  assert(!buckets.take("10.0.0.1"), "only one");
});
