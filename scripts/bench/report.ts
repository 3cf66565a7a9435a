/**
 * What `deno task bench` writes: the JSON document (bench/results/latest.json) and the
 * Markdown table beside it, with the machine the figures were measured on.
 */
import { arch, cpus, loadavg, release, totalmem } from "node:os";

export interface MachineInfo {
  cpu: string;
  cores: number;
  ram_gb: number;
  os: string;
  deno: string;
  postgres: string;
  /** 1, 5 and 15-minute load averages when the document was written (a shared machine's noise). */
  load_avg?: [number, number, number];
}

export interface SuiteOutcome {
  name: string;
  ok: boolean;
  seconds: number;
  error?: string;
  notes: string[];
}

export interface BenchDocument {
  date: string;
  command: string;
  quick: boolean;
  runs: number;
  machine: MachineInfo;
  /** Key → median over runs. */
  figures: Record<string, number>;
  /** Key → [min, max] over runs. */
  ranges: Record<string, [number, number]>;
  /** Key → target, e.g. "≤ 50 ms". */
  targets: Record<string, string>;
  /** Key → whether the median meets its target (keys without a target are absent). */
  met: Record<string, boolean>;
  suites: SuiteOutcome[];
}

/** CPU model, cores, RAM and OS of this machine, plus the Deno and server versions used. */
export function machineInfo(postgresVersion: string): MachineInfo {
  const list = cpus();
  let os = `${Deno.build.os} ${release()} ${arch()}`;
  try {
    const pretty = Deno.readTextFileSync("/etc/os-release").match(/^PRETTY_NAME="?([^"\n]+)"?/m);
    if (pretty) os = `${pretty[1]} (kernel ${release()}, ${arch()})`;
  } catch { /* not Linux: the generic name will do */ }
  return {
    cpu: list[0]?.model?.trim() || "unknown",
    cores: list.length,
    ram_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os,
    deno: Deno.version.deno,
    postgres: postgresVersion,
    load_avg: loadavg().map((n) => Math.round(n * 100) / 100) as [number, number, number],
  };
}

/**
 * Whether `value` meets `target`. Targets read "≤ 50 ms", "≥ 4", "< 1000 ms": a comparison,
 * a number and an optional unit (the value is in that unit). null when the target is not a
 * comparison (then the table shows a dash).
 */
export function meetsTarget(target: string, value: number): boolean | null {
  const m = target.trim().match(/^(≤|<=|≥|>=|<|>)\s*(-?\d+(?:\.\d+)?)/);
  if (!m) return null;
  const bound = Number(m[2]);
  switch (m[1]) {
    case "≤":
    case "<=":
      return value <= bound;
    case "≥":
    case ">=":
      return value >= bound;
    case "<":
      return value < bound;
    default:
      return value > bound;
  }
}

/** The Markdown table of a run: machine, date, one row per key, then each suite's notes. */
export function renderMarkdown(doc: BenchDocument): string {
  const m = doc.machine;
  const lines = [
    "# Benchmark results",
    "",
    `- date: ${doc.date}`,
    `- command: \`${doc.command}\`${doc.quick ? " (quick: smaller sizes)" : ""}`,
    `- machine: ${m.cpu}, ${m.cores} cores, ${m.ram_gb} GB RAM, ${m.os}`,
    `- versions: Deno ${m.deno}, ${m.postgres}`,
    ...(m.load_avg
      ? [`- load average at the end (1/5/15 min): ${m.load_avg.join(" / ")} on ${m.cores} cores`]
      : []),
    `- each figure is the median of ${doc.runs} runs; min–max shows the spread of those runs`,
    "",
    "| key | median | min–max | target | met |",
    "| --- | ---: | --- | --- | --- |",
  ];
  for (const key of Object.keys(doc.figures).sort()) {
    const range = doc.ranges[key];
    const target = doc.targets[key];
    const met = doc.met[key];
    lines.push(
      `| ${key} | ${doc.figures[key]} | ${range ? `${range[0]}–${range[1]}` : "—"} | ${
        target ?? "—"
      } | ${met === undefined ? "—" : met ? "yes" : "**no**"} |`,
    );
  }
  lines.push(...peerComparison(doc.figures));
  lines.push("", "## Suites", "");
  for (const s of doc.suites) {
    lines.push(
      `### ${s.name} — ${s.ok ? "ok" : "FAILED"} in ${s.seconds} s`,
      "",
      ...(s.error ? ["```", s.error, "```", ""] : []),
      ...s.notes.map((n) => `- ${n.replaceAll("\n", " ")}`),
      "",
    );
  }
  return lines.join("\n");
}

/** The rows of the side-by-side table: our key, then each peer's key (same meaning). */
const COMPARED: { what: string; ours: string; peer: (name: string) => string; unit: string }[] = [
  {
    what: "enqueue → handler start, p50",
    ours: "dispatch_p50_ms",
    peer: (n) => `peer_${n}_start_p50_ms`,
    unit: "ms",
  },
  {
    what: "enqueue → handler start, p95",
    ours: "dispatch_p95_ms",
    peer: (n) => `peer_${n}_start_p95_ms`,
    unit: "ms",
  },
  {
    what: "per step of a chain, p50",
    ours: "step_overhead_p50_ms",
    peer: (n) => `peer_${n}_step_p50_ms`,
    unit: "ms",
  },
  {
    what: "sustained tasks per second",
    ours: "tasks_per_s",
    peer: (n) => `peer_${n}_tasks_per_s`,
    unit: "/s",
  },
];
const PEER_NAMES = [["graphile_worker", "graphile-worker"], ["pg_boss", "pg-boss"]] as const;

/**
 * "Beside the peers": our figure, each peer's, and ours as a multiple of theirs (times are
 * "× slower" above 1; rates "× of theirs"). Empty when the run has no peer figures.
 */
export function peerComparison(figures: Record<string, number>): string[] {
  const present = PEER_NAMES.filter(([n]) => COMPARED.some((c) => c.peer(n) in figures));
  if (!present.length) return [];
  const lines = [
    "",
    "## Beside the peers (same machine, same Postgres cluster, same run)",
    "",
    `| figure | ours | ${present.map(([, label]) => label).join(" | ")} | ${
      present.map(([, label]) => `ours ÷ ${label}`).join(" | ")
    } |`,
    `| --- | ---: | ${present.map(() => "---:").join(" | ")} | ${
      present.map(() => "---:").join(" | ")
    } |`,
  ];
  const show = (v: number | undefined, unit: string) => v === undefined ? "—" : `${v} ${unit}`;
  for (const c of COMPARED) {
    const ours = figures[c.ours];
    const theirs = present.map(([n]) => figures[c.peer(n)]);
    const ratios = theirs.map((t) =>
      ours === undefined || t === undefined || t === 0
        ? "—"
        : `${Math.round((ours / t) * 100) / 100}×`
    );
    lines.push(
      `| ${c.what} | ${show(ours, c.unit)} | ${theirs.map((t) => show(t, c.unit)).join(" | ")} | ${
        ratios.join(" | ")
      } |`,
    );
  }
  lines.push(
    "",
    "Ours goes through an HTTP hop: the AFTER INSERT trigger (or complete_task) plans the step and " +
      "queues a request with pg_net; after commit the net worker POSTs it through the gateway to " +
      "the step function's own process, which answers 202, claims the task with one SQL call on " +
      "its own Postgres connection, and completes it with another. The peers run in-process: a " +
      "worker in " +
      "the process that enqueued is woken by LISTEN/NOTIFY, claims with one query and calls the " +
      "no-op handler as a function. Our step also does its real work (Storage reads, a provider " +
      "call to a zero-latency fake), the peers' handlers nothing. Start times: the peers' from " +
      "the enqueue call (their insert round trip included), ours from the inserting " +
      "transaction's now(). The suites' notes below say how each figure is measured.",
  );
  return lines;
}
