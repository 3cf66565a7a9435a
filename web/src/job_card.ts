/**
 * One job as a card: filename, status, progress bar with the stage checklist, the estimate,
 * the "safe to close" promise, and the actions. `data-job-id` on the card and `data-progress`
 * on its bar are stable hooks (the benchmark measures database-change-to-DOM time with them).
 */
import { actionButton, h } from "./html.ts";
import { relativeTime } from "./relative_time.ts";
import {
  type Estimate,
  isActive,
  type JobRow,
  OUTPUT_FORMATS,
  type OutputFormat,
  type StepState,
} from "./jobs.ts";

const STATUS_TEXT: Record<JobRow["status"], string> = {
  pending: "Waiting",
  processing: "Processing",
  completed: "Completed",
  failed: "Failed",
  cancelled: "Cancelled",
};
export const statusText = (job: JobRow) => STATUS_TEXT[job.status];

/** What a card may show besides the row, fetched separately. */
export interface CardExtras {
  steps?: StepState[];
  estimate?: Estimate;
  /** Opened through a share link: no owner actions. */
  readOnly?: boolean;
}

export interface CardHandlers {
  cancel(job: JobRow): void;
  retry(job: JobRow): void;
  remove(job: JobRow): void;
  share(job: JobRow): void;
  download(job: JobRow, language: string | null, format: OutputFormat): void;
  view(job: JobRow): void;
}

/** A checklist line: the label job_steps gives (private.steps), the language, the count. */
export function stepLabel(step: StepState): string {
  const language = step.language ? ` to ${languageName(step.language)}` : "";
  const count = step.unit && step.total > 0 ? ` ${step.completed}/${step.total} ${step.unit}` : "";
  return `${step.label}${language}${count}`;
}

function stepState(step: StepState, job: JobRow): "done" | "running" | "waiting" {
  if (job.status === "completed") return "done";
  if (step.total > 0 && step.completed === step.total) return "done";
  if (step.running > 0 || step.completed > 0) return "running";
  return "waiting";
}

const STATE_MARK = { done: "✓", running: "…", waiting: "○" } as const;
const STATE_TEXT = { done: "done", running: "in progress", waiting: "waiting" } as const;

function checklist(job: JobRow, steps: StepState[]): HTMLOListElement {
  return h(
    "ol",
    { className: "checklist", attrs: { "aria-label": `Stages of ${job.filename}` } },
    ...steps.map((step) => {
      const state = stepState(step, job);
      return h(
        "li",
        { className: `step step-${state}`, dataset: { step: step.step } },
        h("span", {
          className: "mark",
          textContent: STATE_MARK[state],
          attrs: { "aria-hidden": "true" },
        }),
        `${stepLabel(step)} `,
        h("span", { className: "visually-hidden", textContent: `(${STATE_TEXT[state]})` }),
      );
    }),
  );
}

const languageNames = typeof Intl.DisplayNames === "function"
  ? new Intl.DisplayNames(["en"], { type: "language" })
  : null;
export function languageName(code: string): string {
  try {
    return languageNames?.of(code) ?? code;
  } catch {
    return code;
  }
}

export function formatDate(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** A `<time>` showing the relative time, with the absolute date and time on hover. */
export function timeElement(iso: string): HTMLTimeElement {
  return h("time", {
    dateTime: iso,
    title: formatDate(iso),
    className: "relative-time",
    textContent: relativeTime(iso),
  });
}

/** "about 3 minutes remaining", from the history-based estimate. */
export function remainingText(estimate: Estimate | undefined): string {
  const seconds = estimate?.seconds_remaining;
  if (seconds === null || seconds === undefined) return "Estimating the time remaining…";
  const basis = estimate?.basis === "size_bucket" && estimate.bucket
    ? ` (from past jobs of ${estimate.bucket})`
    : "";
  if (seconds < 60) return `Less than a minute remaining${basis}`;
  const minutes = Math.round(seconds / 60);
  return `About ${minutes} minute${minutes === 1 ? "" : "s"} remaining${basis}`;
}

function stageText(job: JobRow): string {
  const message = job.stage_message || (job.status === "pending" ? "Waiting to start" : "Working");
  return `${message} — ${job.progress}%`;
}

/** Updates the parts of a card that change with progress, without rebuilding it. */
export function patchProgress(card: HTMLElement, job: JobRow): void {
  const bar = card.querySelector<HTMLProgressElement>("[data-progress]");
  if (bar) {
    bar.value = job.progress;
    bar.dataset.progress = String(job.progress); // the hook tests and the bench read
  }
  const stage = card.querySelector(".stage");
  if (stage) stage.textContent = stageText(job);
}

/** The card of one job. */
export function renderJobCard(job: JobRow, extras: CardExtras, on: CardHandlers): HTMLLIElement {
  const card = h("li", {
    className: `job job-${job.status}`,
    dataset: { jobId: job.id, status: job.status },
  });
  card.append(
    h(
      "div",
      { className: "job-head" },
      h("strong", { className: "filename", textContent: job.filename }),
      h("span", { className: `status status-${job.status}`, textContent: statusText(job) }),
    ),
    h("p", { className: "muted submitted" }, "Submitted ", timeElement(job.created_at)),
  );
  if (job.cached_from) {
    card.append(h("p", {
      className: "cached",
      textContent: `Result from ${formatDate(job.cached_at ?? job.created_at)} — this recording ` +
        "was transcribed before with the same settings.",
    }));
  }
  if (isActive(job)) {
    card.append(
      h("p", { className: "stage", textContent: stageText(job) }),
      h("progress", {
        max: 100,
        value: job.progress,
        dataset: { progress: String(job.progress) },
        attrs: { "aria-label": `Progress of ${job.filename}` },
      }),
    );
    if (extras.steps?.length) card.append(checklist(job, extras.steps));
    card.append(
      h("p", { className: "eta", textContent: remainingText(extras.estimate) }),
      h("p", {
        className: "safe-close",
        textContent: "You can safely close this browser; processing continues on the server.",
      }),
    );
  } else if (extras.steps?.length && job.status !== "completed") {
    card.append(checklist(job, extras.steps));
  }
  if ((job.status === "failed" || job.status === "cancelled") && job.error_message) {
    card.append(h("p", { className: "error", textContent: job.error_message }));
  }
  card.append(actions(job, extras, on));
  return card;
}

function actions(job: JobRow, extras: CardExtras, on: CardHandlers): HTMLElement {
  const box = h("div", { className: "actions" });
  const name = job.filename;
  if (job.status === "completed") {
    box.append(actionButton("View transcript", () => on.view(job), name));
    const translations = job.options.translate_to ?? [];
    let language: HTMLSelectElement | null = null;
    if (translations.length) {
      const id = `lang-${job.id}`;
      language = h(
        "select",
        { id },
        h("option", { value: "", textContent: "Original" }),
        ...translations.map((code) =>
          h("option", { value: code, textContent: languageName(code) })
        ),
      );
      box.append(
        h("label", { htmlFor: id, className: "inline-label", textContent: "Language" }),
        language,
      );
    }
    for (const format of OUTPUT_FORMATS) {
      box.append(actionButton(
        `Download ${format.toUpperCase()}`,
        () => on.download(job, language?.value || null, format),
        name,
        "secondary",
      ));
    }
  }
  if (extras.readOnly) return box;
  if (isActive(job)) {
    box.append(actionButton("View transcript so far", () => on.view(job), name, "secondary"));
    box.append(actionButton("Cancel", () => on.cancel(job), name, "secondary"));
  }
  // Failed: retry_job resumes from the last checkpoint; cancelled: run again as a new job.
  if (job.status === "failed" || job.status === "cancelled") {
    box.append(actionButton("Retry", () => on.retry(job), name));
  }
  box.append(actionButton("Share", () => on.share(job), name, "secondary"));
  box.append(actionButton("Delete", () => on.remove(job), name, "danger"));
  return box;
}
