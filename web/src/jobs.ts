/** The list of the user's own jobs: fetching a page, rendering it, actions and downloads. */
import { supabase } from "./supabase.ts";

export const PAGE_SIZE = 10;

export interface JobRow {
  id: string;
  filename: string;
  status: "pending" | "processing" | "completed" | "failed" | "cancelled";
  stage: string | null;
  stage_message: string | null;
  progress: number;
  error_message: string | null;
  cached_from: string | null;
  created_at: string;
  options: { translate_to?: string[] } | null;
}

const COLUMNS =
  "id,filename,status,stage,stage_message,progress,error_message,cached_from,created_at,options";

export async function fetchJobs(
  userId: string,
  page: number,
): Promise<{ jobs: JobRow[]; total: number }> {
  const from = page * PAGE_SIZE;
  const { data, error, count } = await supabase.from("jobs").select(COLUMNS, { count: "exact" })
    .eq("owner_id", userId).order("created_at", { ascending: false })
    .range(from, from + PAGE_SIZE - 1);
  if (error) throw error;
  return { jobs: (data ?? []) as JobRow[], total: count ?? 0 };
}

const ACTIVE = new Set(["pending", "processing"]);
export const isActive = (job: JobRow) => ACTIVE.has(job.status);

export type JobAction = "cancel" | "retry" | "delete";

export async function runAction(action: JobAction, jobId: string): Promise<void> {
  const fn = { cancel: "cancel_job", retry: "retry_job", delete: "delete_job" }[action];
  const { error } = await supabase.rpc(fn, { job_id: jobId });
  if (error) throw error;
}

const MIME = { srt: "application/x-subrip", vtt: "text/vtt", json: "application/json" };
export type OutputFormat = keyof typeof MIME;

/** Downloads the transcript (not a translation) of a completed job in `format`. */
export async function downloadOutput(job: JobRow, format: OutputFormat): Promise<void> {
  const { data, error } = await supabase.from("job_outputs").select("language,content")
    .eq("job_id", job.id).eq("format", format);
  if (error) throw error;
  const translations = new Set(job.options?.translate_to ?? []);
  const row = (data ?? []).find((r) => !translations.has(r.language)) ?? data?.[0];
  if (!row) throw new Error(`No ${format.toUpperCase()} file for this job yet.`);
  const url = URL.createObjectURL(new Blob([row.content], { type: MIME[format] }));
  const a = document.createElement("a");
  a.href = url;
  a.download = `${job.filename.replace(/\.[^.]+$/, "")}.${format}`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const STATUS_TEXT: Record<JobRow["status"], string> = {
  pending: "Waiting",
  processing: "Processing",
  completed: "Completed",
  failed: "Failed",
  cancelled: "Cancelled",
};
export const statusText = (job: JobRow) => STATUS_TEXT[job.status] ?? job.status;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> & Record<string, unknown> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function button(label: string, detail: string, onClick: () => void): HTMLButtonElement {
  const b = el("button", { type: "button", textContent: label, onclick: onClick });
  b.setAttribute("aria-label", `${label} ${detail}`);
  return b;
}

export type JobHandlers = {
  action: (action: JobAction, job: JobRow) => void;
  download: (job: JobRow, format: OutputFormat) => void;
};

/** One list item for a job. */
export function renderJob(job: JobRow, on: JobHandlers): HTMLLIElement {
  const item = el("li", { className: `job job-${job.status}` });
  item.dataset.jobId = job.id;
  item.dataset.status = job.status;
  const created = new Date(job.created_at).toLocaleString();
  item.append(
    el("div", { className: "job-head" }, el("strong", { className: "filename", textContent: job.filename }),
      el("span", { className: `status status-${job.status}`, textContent: statusText(job) })),
    el("p", { className: "muted", textContent: `Submitted ${created}` + (job.cached_from ? " · reused an earlier identical result" : "") }),
  );
  if (isActive(job)) {
    const message = job.stage_message || (job.status === "pending" ? "Waiting to start" : "Working");
    const bar = el("progress", { max: 100, value: job.progress });
    bar.setAttribute("aria-label", `Progress of ${job.filename}`);
    // Stable hook for tests and the change-to-DOM benchmark: [data-job-id] [data-progress].
    bar.dataset.progress = String(job.progress);
    item.append(
      el("p", { className: "stage", textContent: `${message} — ${job.progress}%` }),
      bar,
      el("p", { className: "safe-close", textContent: "You can safely close this browser; processing continues on the server." }),
    );
  }
  if (job.status === "failed" && job.error_message) {
    item.append(el("p", { className: "error", textContent: job.error_message }));
  }
  const actions = el("div", { className: "actions" });
  if (job.status === "completed") {
    for (const format of ["srt", "vtt", "json"] as const) {
      actions.append(button(`Download ${format.toUpperCase()}`, job.filename, () => on.download(job, format)));
    }
  }
  if (isActive(job)) actions.append(button("Cancel", job.filename, () => on.action("cancel", job)));
  if (job.status === "failed") actions.append(button("Retry", job.filename, () => on.action("retry", job)));
  actions.append(button("Delete", job.filename, () => on.action("delete", job)));
  item.append(actions);
  return item;
}
