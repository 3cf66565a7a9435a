/**
 * Every suite `deno task bench` runs, in order (background suites run alongside the others).
 */
import { browser } from "./browser.ts";
import { cleanup } from "./cleanup.ts";
import { cronPoll } from "./cron_poll.ts";
import { dispatch } from "./dispatch.ts";
import { offlineWer } from "./offline_wer.ts";
import { parallel } from "./parallel.ts";
import { peers } from "./peers.ts";
import { pipeline } from "./pipeline.ts";
import { realtime } from "./realtime.ts";
import { scale } from "./scale.ts";
import { stepCpu } from "./step_cpu.ts";
import { stepLimits } from "./step_limits.ts";
import type { BenchSuite } from "./suite.ts";

export const suites: BenchSuite[] = [
  cronPoll,
  dispatch,
  pipeline,
  peers,
  parallel,
  realtime,
  scale,
  cleanup,
  offlineWer,
  stepCpu,
  stepLimits,
  browser,
];
