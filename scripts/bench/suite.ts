/**
 * The shape every benchmark suite has. `deno task bench` (scripts/bench/main.ts) runs each
 * suite in scripts/bench/suites.ts against a running stack and merges the figures they
 * return into bench/results/latest.json. A suite repeats its measurement `ctx.runs` times
 * itself and reports the median under the documented key (and min/max in `ranges`).
 */
import type { FakeServer } from "../tests/fakes/fake_server.ts";
import type { StackEnv } from "../tests/support/stack_env.ts";

export interface BenchContext {
  /** `--quick`: smaller sizes, same keys, the whole run under 3 minutes. */
  quick: boolean;
  /** How many repetitions to take the median of (at least 3). */
  runs: number;
  /** The Supabase the suite measures (the local stack unless SUPABASE_* are set). */
  env: StackEnv;
  /** Progress lines for the person watching; not part of the results. */
  log(message: string): void;
  /**
   * The OpenAI-compatible fake the stack's step functions transcribe with, when the runner
   * started the stack wired to it (TRANSCRIBE_PROVIDER=openai, OPENAI_BASE_URL=its url).
   * Suites script its latency per request; absent when the stack was not started by the bench.
   */
  provider?: FakeServer;
  /** Root URL of the offline transcription server (scripts/ship/asr), when known. */
  offlineAsrUrl?: string;
}

export interface BenchResult {
  /** Key → median figure, e.g. { dispatch_p50_ms: 9.1 }. */
  figures: Record<string, number>;
  /** Key → [min, max] over the runs, where the suite repeated the measurement. */
  ranges?: Record<string, [number, number]>;
  /** Key → what it is compared to, for the Markdown table, e.g. "≤ 50 ms". */
  targets?: Record<string, string>;
  /** Free-form facts worth keeping with the figures (sizes used, EXPLAIN lines). */
  notes?: string[];
}

export interface BenchSuite {
  name: string;
  /**
   * Runs alongside the other suites instead of after them: for a figure that machine load
   * cannot move (e.g. a poller with a one-minute schedule), so its waiting is not added to
   * the run's duration. The runner starts it first and awaits it after the last suite.
   */
  background?: boolean;
  run(ctx: BenchContext): Promise<BenchResult>;
}
