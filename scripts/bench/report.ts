/**
 * What `deno task bench` writes: the JSON document (bench/results/latest.json) and the
 * Markdown table beside it, with the machine the figures were measured on.
 */
import { arch, cpus, release, totalmem } from "node:os";

export interface MachineInfo {
  cpu: string;
  cores: number;
  ram_gb: number;
  os: string;
  deno: string;
  postgres: string;
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
