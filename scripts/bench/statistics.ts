/**
 * The arithmetic of benchmark figures: percentiles of samples, and the median with its
 * min–max over repeated runs (what bench/results/latest.md shows for every key).
 */

/** The p-th percentile (0..100) of `samples`, interpolated linearly between closest ranks. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new Error("percentile of no samples");
  if (!(p >= 0 && p <= 100)) throw new Error(`percentile ${p} is outside 0..100`);
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
}

/** The median of `samples`. */
export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/** A figure repeated over runs: the median is reported, min and max show the spread. */
export interface RunSummary {
  median: number;
  range: [number, number];
}

/** Median and [min, max] of one figure measured once per run. */
export function summarizeRuns(perRun: readonly number[]): RunSummary {
  if (perRun.length === 0) throw new Error("no runs to summarize");
  return { median: median(perRun), range: [Math.min(...perRun), Math.max(...perRun)] };
}

/** Rounds for reporting: three significant decimals are more than this machine's noise. */
export function round(value: number, decimals = 2): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

/**
 * Collects per-run figures under their keys and turns them into a suite's figures and
 * ranges (the median over runs, and the min–max).
 */
export class RunFigures {
  readonly #values = new Map<string, number[]>();

  /** Records one run's value of `key`. */
  add(key: string, value: number): void {
    if (!Number.isFinite(value)) throw new Error(`${key}: ${value} is not a finite number`);
    const list = this.#values.get(key) ?? [];
    list.push(value);
    this.#values.set(key, list);
  }

  /** Median per key and min–max per key, rounded for the report. */
  result(decimals = 2): {
    figures: Record<string, number>;
    ranges: Record<string, [number, number]>;
  } {
    const figures: Record<string, number> = {};
    const ranges: Record<string, [number, number]> = {};
    for (const [key, values] of this.#values) {
      const { median, range } = summarizeRuns(values);
      figures[key] = round(median, decimals);
      ranges[key] = [round(range[0], decimals), round(range[1], decimals)];
    }
    return { figures, ranges };
  }
}
