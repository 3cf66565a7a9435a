import assert from "node:assert/strict";
import { median, percentile, RunFigures, summarizeRuns } from "./statistics.ts";

Deno.test("percentiles interpolate between ranks and ignore input order", () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(percentile([10, 20, 30, 40, 50], 95), 48);
  assert.equal(percentile([7], 95), 7);
  assert.throws(() => percentile([], 50), /no samples/);
  assert.throws(() => percentile([1], 101), /outside/);
});

Deno.test("runs are summarised as median with min and max", () => {
  assert.deepEqual(summarizeRuns([12, 9, 30]), { median: 12, range: [9, 30] });
  const runs = new RunFigures();
  for (const v of [1.234, 5.678, 3.3333]) runs.add("dispatch_p50_ms", v);
  runs.add("other", 2);
  assert.deepEqual(runs.result(), {
    figures: { dispatch_p50_ms: 3.33, other: 2 },
    ranges: { dispatch_p50_ms: [1.23, 5.68], other: [2, 2] },
  });
  assert.throws(() => runs.add("x", NaN), /not a finite number/);
});
