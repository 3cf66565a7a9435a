import assert from "node:assert/strict";
import { type BenchDocument, meetsTarget, peerComparison, renderMarkdown } from "./report.ts";

Deno.test("targets are read as comparisons with a unit", () => {
  assert.equal(meetsTarget("≤ 50 ms", 50), true);
  assert.equal(meetsTarget("≤ 50 ms", 50.1), false);
  assert.equal(meetsTarget("≥ 4", 3.9), false);
  assert.equal(meetsTarget(">= 4", 4.2), true);
  assert.equal(meetsTarget("< 1000 ms", 1000), false);
  assert.equal(meetsTarget("as low as possible", 3), null);
});

Deno.test("the Markdown table shows median, range, target and a failed suite's error", () => {
  const doc: BenchDocument = {
    date: "2026-11-22T12:00:00.000Z",
    command: "deno task bench",
    quick: false,
    runs: 3,
    machine: { cpu: "CPU", cores: 2, ram_gb: 24, os: "Debian", deno: "2.9.5", postgres: "PG 15" },
    figures: { dispatch_p50_ms: 12.5, offline_wer_pct: 6 },
    ranges: { dispatch_p50_ms: [10, 15] },
    targets: { dispatch_p50_ms: "≤ 50 ms", offline_wer_pct: "≤ 5 %" },
    met: { dispatch_p50_ms: true, offline_wer_pct: false },
    suites: [
      { name: "dispatch", ok: true, seconds: 3, notes: ["EXPLAIN: Index Scan"] },
      { name: "scale", ok: false, seconds: 1, error: "Error: boom", notes: [] },
    ],
  };
  const md = renderMarkdown(doc);
  assert.match(md, /\| dispatch_p50_ms \| 12\.5 \| 10–15 \| ≤ 50 ms \| yes \|/);
  assert.match(md, /\| offline_wer_pct \| 6 \| — \| ≤ 5 % \| \*\*no\*\* \|/);
  assert.match(md, /### scale — FAILED in 1 s\n\n```\nError: boom\n```/);
  assert.match(md, /median of 3 runs/);
});

Deno.test("the peers table gives ours, theirs and the ratio", () => {
  const lines = peerComparison({
    dispatch_p50_ms: 10,
    peer_graphile_worker_start_p50_ms: 4,
    peer_pg_boss_start_p50_ms: 5,
    tasks_per_s: 50,
    peer_graphile_worker_tasks_per_s: 1000,
  });
  const md = lines.join("\n");
  assert.match(md, /\| enqueue → handler start, p50 \| 10 ms \| 4 ms \| 5 ms \| 2\.5× \| 2× \|/);
  assert.match(md, /\| sustained tasks per second \| 50 \/s \| 1000 \/s \| — \| 0\.05× \| — \|/);
  assert.match(md, /HTTP hop/);
  assert.deepEqual(peerComparison({ dispatch_p50_ms: 10 }), []);
});
