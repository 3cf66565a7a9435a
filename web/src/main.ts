/** Page wiring: sign-in, the upload form, the job list and its live updates. */
import "./style.css";
import type { RealtimeChannel } from "@supabase/supabase-js";
import { userMessage } from "./errors.ts";
import {
  downloadOutput,
  fetchJobs,
  type JobAction,
  type JobRow,
  PAGE_SIZE,
  renderJob,
  runAction,
  statusText,
} from "./jobs.ts";
import { ensureSignedIn, supabase } from "./supabase.ts";
import { submitRecording } from "./upload.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const ui = {
  session: $("session"),
  offline: $("offline"),
  form: $<HTMLFormElement>("upload-form"),
  dropZone: $("drop-zone"),
  fileInput: $<HTMLInputElement>("file-input"),
  language: $<HTMLSelectElement>("language"),
  uploadProgress: $("upload-progress"),
  uploadStep: $("upload-step"),
  uploadBar: $<HTMLProgressElement>("upload-bar"),
  uploadMessage: $("upload-message"),
  jobs: $<HTMLUListElement>("jobs"),
  jobsEmpty: $("jobs-empty"),
  prev: $<HTMLButtonElement>("prev-page"),
  next: $<HTMLButtonElement>("next-page"),
  pageLabel: $("page-label"),
  announcer: $("announcer"),
};

let userId = "";
let page = 0;
let busy = false;
const lastStatus = new Map<string, JobRow["status"]>();

function announce(text: string) {
  ui.announcer.textContent = text;
}

function showUploadMessage(text: string, kind: "info" | "error") {
  ui.uploadMessage.textContent = text;
  ui.uploadMessage.className = `message message-${kind}`;
}

// Refetching the page on every change is simple and always correct; bursts are coalesced.
let refreshTimer: number | undefined;
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => void refresh(), 250);
}

async function refresh() {
  let result;
  try {
    result = await fetchJobs(userId, page);
  } catch (error) {
    showUploadMessage(`Could not load your jobs: ${userMessage(error)}`, "error");
    return;
  }
  const { jobs, total } = result;
  const changes: string[] = [];
  for (const job of jobs) {
    const before = lastStatus.get(job.id);
    if (before && before !== job.status) changes.push(`${job.filename}: ${statusText(job)}`);
    lastStatus.set(job.id, job.status);
  }
  if (changes.length) announce(changes.join(". "));

  // Keep focus on the same control across a re-render (keyboard users).
  const focused = document.activeElement;
  const focusKey = focused instanceof HTMLElement && ui.jobs.contains(focused)
    ? focused.getAttribute("aria-label")
    : null;
  ui.jobs.replaceChildren(...jobs.map((job) => renderJob(job, { action: onAction, download: onDownload })));
  if (focusKey) {
    [...ui.jobs.querySelectorAll<HTMLElement>("button")].find((b) =>
      b.getAttribute("aria-label") === focusKey
    )?.focus();
  }
  ui.jobsEmpty.hidden = total > 0;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  ui.pageLabel.textContent = `Page ${page + 1} of ${pages}`;
  ui.prev.disabled = page === 0;
  ui.next.disabled = page + 1 >= pages;
}

async function onAction(action: JobAction, job: JobRow) {
  if (action === "delete" && !confirm(`Delete “${job.filename}” and its subtitles?`)) return;
  try {
    await runAction(action, job.id);
    announce(`${job.filename}: ${action === "delete" ? "deleted" : action === "cancel" ? "cancelled" : "retrying"}`);
  } catch (error) {
    announce(userMessage(error));
    alert(userMessage(error));
  }
  await refresh();
}

async function onDownload(job: JobRow, format: "srt" | "vtt" | "json") {
  try {
    await downloadOutput(job, format);
  } catch (error) {
    announce(userMessage(error));
    alert(userMessage(error));
  }
}

async function handleFile(file: File | undefined) {
  if (!file || busy) return;
  busy = true;
  ui.fileInput.disabled = true;
  ui.uploadProgress.hidden = false;
  showUploadMessage(`Preparing ${file.name}…`, "info");
  try {
    const steps = { queue: "Checking the queue", hashing: "Checking the file", extracting: "Extracting the audio", uploading: "Uploading the audio", submitting: "Submitting" };
    const { jobId } = await submitRecording(file, userId, { language: ui.language.value }, (p) => {
      ui.uploadStep.textContent = `${steps[p.phase]}…`;
      ui.uploadBar.value = Math.round(p.fraction * 100);
    }).done;
    lastStatus.set(jobId, "pending");
    showUploadMessage(`${file.name} was submitted. You can safely close this browser.`, "info");
    page = 0;
    await refresh();
  } catch (error) {
    showUploadMessage(userMessage(error), "error");
  } finally {
    busy = false;
    ui.fileInput.disabled = false;
    ui.fileInput.value = "";
    ui.uploadProgress.hidden = true;
  }
}

function wireUpload() {
  ui.fileInput.addEventListener("change", () => void handleFile(ui.fileInput.files?.[0]));
  ui.form.addEventListener("submit", (e) => e.preventDefault());
  ui.dropZone.addEventListener("dragover", (e) => {
    e.preventDefault();
    ui.dropZone.classList.add("drag");
  });
  ui.dropZone.addEventListener("dragleave", () => ui.dropZone.classList.remove("drag"));
  ui.dropZone.addEventListener("drop", (e) => {
    e.preventDefault();
    ui.dropZone.classList.remove("drag");
    void handleFile(e.dataTransfer?.files[0]);
  });
  ui.prev.addEventListener("click", () => {
    page = Math.max(0, page - 1);
    void refresh();
  });
  ui.next.addEventListener("click", () => {
    page += 1;
    void refresh();
  });
}

async function subscribe(): Promise<RealtimeChannel> {
  await supabase.realtime.setAuth();
  return supabase.channel(`user:${userId}:jobs`, { config: { private: true } })
    .on("broadcast", { event: "*" }, scheduleRefresh)
    .subscribe((status) => {
      if (status === "SUBSCRIBED") {
        ui.offline.hidden = true;
        document.body.dataset.live = "true";
        // Changes may have been missed while away: re-sync.
        scheduleRefresh();
      } else {
        ui.offline.hidden = false;
        document.body.dataset.live = "false";
      }
    });
}

async function start() {
  wireUpload();
  try {
    const user = await ensureSignedIn();
    userId = user.id;
  } catch (error) {
    ui.session.textContent = userMessage(error);
    return;
  }
  ui.session.textContent = "Signed in anonymously on this browser. Your jobs stay here.";
  document.body.dataset.user = userId;
  await refresh();
  await subscribe();
}

void start();
