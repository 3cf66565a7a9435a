/**
 * What the command-line client shows while it works: redrawn progress bars on a terminal
 * (upload, then each stage of the job with the estimate), one line per change when stdout is
 * not a terminal, one JSON object per line with --json (for scripts).
 */

export interface StepLine {
  step: string;
  language: string | null;
  total: number;
  completed: number;
  running: number;
}

export interface JobView {
  id: string;
  status: string;
  progress: number;
  stage: string | null;
  stage_message: string | null;
  error_code: string | null;
  error_message: string | null;
}

export type Mode = "tty" | "lines" | "json";

const encoder = new TextEncoder();
const WIDTH = 24;

function bar(fraction: number): string {
  const full = Math.round(Math.max(0, Math.min(1, fraction)) * WIDTH);
  return "█".repeat(full) + "░".repeat(WIDTH - full);
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

function duration(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

export class Display {
  #file = "";
  #drawn = 0;
  #upload: { sent: number; total: number } | null = null;
  #phase: { name: string; fraction: number } | null = null;
  #job: JobView | null = null;
  #steps: StepLine[] = [];
  #eta: number | null = null;
  #lastLine = "";
  #lastDraw = 0;

  constructor(readonly mode: Mode) {}

  /** A new file: the bars start again. */
  begin(file: string): void {
    this.#finishBlock();
    this.#file = file;
    this.#upload = null;
    this.#phase = null;
    this.#job = null;
    this.#steps = [];
    this.#eta = null;
    this.#emit({ event: "file", file }, `${file}`);
  }

  phase(name: "hashing" | "extracting", fraction: number): void {
    this.#phase = { name, fraction };
    this.#emit(
      { event: name, file: this.#file, fraction },
      fraction === 0 ? `  ${name}…` : "",
      fraction > 0 && fraction < 1,
    );
  }

  upload(sent: number, total: number, chunk?: string, chunkDone = false): void {
    this.#phase = null;
    this.#upload = { sent, total };
    this.#emit(
      {
        event: "upload",
        file: this.#file,
        bytes: sent,
        total,
        chunk,
        chunk_done: chunkDone || undefined,
      },
      chunkDone ? `  uploaded ${chunk} (${mb(sent)} of ${mb(total)})` : "",
      !chunkDone,
    );
  }

  job(job: JobView, steps: StepLine[] | null, eta: number | null): void {
    const before = this.#job;
    this.#job = job;
    if (steps) this.#steps = steps;
    this.#eta = eta;
    const changed = !before || before.status !== job.status ||
      before.stage_message !== job.stage_message;
    const etaText = eta !== null && job.status === "processing"
      ? `, about ${duration(eta)} left`
      : "";
    this.#emit(
      {
        event: "job",
        file: this.#file,
        id: job.id,
        status: job.status,
        progress: job.progress,
        stage: job.stage,
        stage_message: job.stage_message,
        seconds_remaining: eta,
        steps: this.#steps,
      },
      changed
        ? `  [${String(job.progress).padStart(3)}%] ${job.stage_message ?? job.status}${etaText}`
        : "",
    );
  }

  note(text: string): void {
    this.#finishBlock();
    this.#emit({ event: "note", file: this.#file, message: text }, `  ${text}`);
  }

  /** Stops redrawing the current block (the next output starts below it). */
  #finishBlock(): void {
    if (this.mode === "tty" && this.#drawn) {
      this.#draw(true);
      this.#drawn = 0;
    }
  }

  end(): void {
    this.#finishBlock();
  }

  #emit(json: Record<string, unknown>, line: string, frequent = false): void {
    if (this.mode === "json") {
      if (frequent && json.event !== "upload") return;
      Deno.stdout.writeSync(encoder.encode(JSON.stringify(json) + "\n"));
    } else if (this.mode === "lines") {
      if (line && line !== this.#lastLine) {
        this.#lastLine = line;
        Deno.stdout.writeSync(encoder.encode(line + "\n"));
      }
    } else {
      const now = performance.now();
      if (frequent && now - this.#lastDraw < 100) return;
      this.#lastDraw = now;
      this.#draw(false);
    }
  }

  #draw(final: boolean): void {
    const lines = [this.#file];
    if (this.#phase) {
      lines.push(
        `  ${this.#phase.name.padEnd(12)} ${bar(this.#phase.fraction)} ${
          Math.round(this.#phase.fraction * 100)
        }%`,
      );
    }
    if (this.#upload) {
      const f = this.#upload.total ? this.#upload.sent / this.#upload.total : 1;
      lines.push(
        `  ${"upload".padEnd(12)} ${bar(f)} ${Math.round(f * 100)}%  ${mb(this.#upload.sent)} of ${
          mb(this.#upload.total)
        }`,
      );
    }
    for (const s of this.#steps) {
      const name = s.language ? `${s.step} ${s.language}` : s.step;
      const f = s.total ? s.completed / s.total : 0;
      const count = s.total > 1
        ? `${s.completed}/${s.total}`
        : s.completed === s.total && s.total
        ? "done"
        : s.running
        ? "running"
        : "";
      lines.push(`  ${name.padEnd(12)} ${bar(f)} ${count}`);
    }
    if (this.#job) {
      const eta = this.#eta !== null && this.#job.status === "processing"
        ? ` · about ${duration(this.#eta)} left`
        : "";
      lines.push(
        `  ${this.#job.status} ${this.#job.progress}%${eta} · ${this.#job.stage_message ?? ""}`,
      );
    }
    const clear = this.#drawn ? `\x1b[${this.#drawn}F\x1b[J` : "";
    Deno.stdout.writeSync(encoder.encode(clear + lines.join("\n") + "\n"));
    this.#drawn = final ? 0 : lines.length;
  }
}
