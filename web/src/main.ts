/**
 * Page wiring: the anonymous session, the submit form, the jobs drawer, a job opened from a
 * share link (`?job=<id>#token=…`, works from index.html alone on any static host), live updates with the offline banner, notifications and
 * the transcript viewer.
 */
import "./style.css";
import { noticeCompletion } from "./completion_notice.ts";
import { userMessage } from "./errors.ts";
import { h } from "./html.ts";
import { type CardHandlers, renderJobCard, statusText } from "./job_card.ts";
import {
  fetchJob,
  fetchOutputs,
  fetchSharedJob,
  type JobRow,
  openSharedJob,
  type OutputFormat,
  outputLanguages,
  resubmit,
  revokeShare,
  runAction,
  saveOutput,
  sharedJobTopic,
  shareLink,
} from "./jobs.ts";
import { JobsPanel } from "./jobs_panel.ts";
import { type JobChange, subscribeJobs } from "./live_updates.ts";
import { SubmitPanel } from "./submit_panel.ts";
import { ensureSignedIn } from "./supabase.ts";
import { TranscriptViewer } from "./transcript_viewer.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const announcer = $("announcer");
const offline = $("offline");
const scrim = $("scrim");

function announce(text: string): void {
  // Inside the open modal (aria-modal hides the rest of the page from screen readers), else
  // the page's own live region. Cleared first so that the same text twice is announced twice.
  const region = viewer?.isOpen
    ? $("viewer-announcer")
    : panel?.isOpen
    ? $("drawer-announcer")
    : announcer;
  for (const r of [announcer, $("drawer-announcer"), $("viewer-announcer")]) r.textContent = "";
  requestAnimationFrame(() => (region.textContent = text));
}

/** Recordings chosen in this tab, by job id, so the viewer can seek them while loaded. */
const localMedia = new Map<string, string>();

// Freshness has two sources: the live channel and the last fetch. Either failing shows the banner.
// The banner waits for the first connection so that it does not flash while the page loads.
let channelUp = false;
let everConnected = false;
let fetchOk = true;
function showFreshness(): void {
  const fresh = channelUp && fetchOk && navigator.onLine;
  offline.hidden = fresh || (!everConnected && fetchOk && navigator.onLine);
  // The page's banner is under the open drawer, so the drawer says it too.
  $("drawer-offline").hidden = offline.hidden;
  document.body.dataset.live = String(fresh);
}

const handlers: CardHandlers = {
  async cancel(job) {
    await act(job, () => runAction("cancel", job.id), "cancelled");
  },
  async retry(job) {
    if (job.status === "failed") {
      await act(job, () => runAction("retry", job.id), "sent again with the same settings");
    } else {
      await act(job, async () => {
        const newId = await resubmit(job);
        // Same recording: the file chosen in this tab still belongs to the new job.
        const media = localMedia.get(job.id);
        if (media) localMedia.set(newId, media);
      }, "submitted again with the same settings");
    }
  },
  async remove(job) {
    if (!confirm(`Delete “${job.filename}” and its subtitles?`)) return;
    await act(job, () => runAction("delete", job.id), "deleted");
  },
  async share(job) {
    try {
      const link = await shareLink(job.id);
      showShareLink(job, link);
      await navigator.clipboard?.writeText(link).then(
        () => announce(`Share link of ${job.filename} copied`),
        () => announce(`Share link of ${job.filename} shown; copy it from the box`),
      );
    } catch (error) {
      announce(userMessage(error));
    }
  },
  async download(job, language, format) {
    try {
      await download(job, language, format);
    } catch (error) {
      announce(userMessage(error));
      alert(userMessage(error));
    }
  },
  view(job) {
    const returnToDrawer = panel.isOpen;
    void viewer.open(job, localMedia.get(job.id), () => {
      scrim.hidden = !returnToDrawer;
    });
  },
};

async function act(job: JobRow, action: () => Promise<void>, done: string): Promise<void> {
  try {
    await action();
    announce(`${job.filename}: ${done}`);
  } catch (error) {
    announce(userMessage(error));
    alert(userMessage(error));
  }
  await panel.refresh();
  if (sharedJobId === job.id) await showSharedJob(job.id);
}

async function download(job: JobRow, language: string | null, format: OutputFormat): Promise<void> {
  const outputs = await fetchOutputs(job.id);
  const primary = outputLanguages(job, outputs)[0];
  const wanted = language ?? primary;
  const row = outputs.find((o) => o.language === wanted && o.format === format);
  if (!row) throw new Error(`No ${format.toUpperCase()} file in this language yet.`);
  saveOutput(job, row, primary);
}

function showShareLink(job: JobRow, link: string): void {
  const card = document.querySelector(`[data-job-id="${job.id}"]`);
  if (!card) return;
  card.querySelector(".share-link")?.remove();
  const id = `share-${job.id}`;
  const input = h("input", {
    id,
    type: "text",
    readOnly: true,
    value: link,
    className: "share-input",
  });
  card.append(h(
    "p",
    { className: "share-link" },
    h("label", { htmlFor: id, textContent: "Share link (read-only access for whoever has it)" }),
    input,
    stopSharingButton(job),
  ));
  input.select();
}

/** Revokes the link: everyone who opened it loses access now; sharing again makes a new one. */
function stopSharingButton(job: JobRow): HTMLButtonElement {
  const button = h("button", { type: "button", textContent: "Stop sharing" });
  button.addEventListener("click", () => {
    void act(job, async () => {
      await revokeShare(job.id);
      document.querySelector(`[data-job-id="${job.id}"] .share-link`)?.remove();
    }, "link revoked");
  });
  return button;
}

const panel = new JobsPanel(scrim, handlers, {
  statusChanged(job, before) {
    announce(`${job.filename}: ${statusText(job)}`);
    viewer.jobChanged(job);
    void submit.refreshQueue();
    if (job.status === "completed" && (before === "pending" || before === "processing")) {
      // Where the user is looking: inside the open drawer (which holds the focus) or the page.
      noticeCompletion(job.filename, $(panel.isOpen ? "drawer-notify-host" : "notify-host"));
    }
  },
  freshness(fresh) {
    fetchOk = fresh;
    showFreshness();
  },
});

const viewer = new TranscriptViewer(scrim);

const submit = new SubmitPanel({
  submitted(file, result) {
    localMedia.set(result.jobId, URL.createObjectURL(file));
    panel.open();
    void panel.showNewest();
  },
  announce,
  showJobs() {
    panel.open();
  },
});

// A shared job: `?job=<uuid>#token=<hex>` beside index.html, so any static host serves it
// with no rewrite rules. The token leaves the address bar once used.
let sharedJobId: string | null = null;
let leaveSharedTopic: (() => void) | null = null;

function sharedRoute(): { jobId: string; token: string | null } | null {
  const id = new URLSearchParams(location.search).get("job") ?? "";
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  return { jobId: id.toLowerCase(), token };
}

async function showSharedJob(jobId: string): Promise<void> {
  const list = $("shared-job");
  let job: JobRow | null;
  try {
    job = await fetchJob(jobId) ?? await fetchSharedJob(jobId);
  } catch {
    fetchOk = false;
    showFreshness();
    return;
  }
  if (!job) {
    list.replaceChildren();
    $("shared-message").textContent = "This shared job is no longer available.";
    return;
  }
  const mine = job.owner_id === document.body.dataset.user;
  list.replaceChildren(renderJobCard(job, { readOnly: !mine }, handlers));
}

async function openShared(userId: string): Promise<void> {
  const route = sharedRoute();
  if (!route) return;
  $("shared").hidden = false;
  try {
    if (route.token) {
      await openSharedJob(route.token);
      history.replaceState(null, "", `${location.pathname}?job=${route.jobId}`);
    }
  } catch (error) {
    $("shared-message").textContent = userMessage(error);
    return;
  }
  sharedJobId = route.jobId;
  await showSharedJob(route.jobId);
  leaveSharedTopic?.();
  const topic = await sharedJobTopic(route.jobId).catch(() => null);
  if (!topic) return;
  leaveSharedTopic = await subscribeJobs(topic, {
    change(change: JobChange) {
      if (change.record && !change.record.deleted_at) {
        const previous = $("shared-job").querySelector<HTMLElement>("[data-job-id]")?.dataset
          .status;
        if (previous && previous !== change.record.status) {
          announce(`${change.record.filename}: ${statusText(change.record)}`);
        }
        $("shared-job").replaceChildren(
          renderJobCard(change.record, { readOnly: change.record.owner_id !== userId }, handlers),
        );
      } else void showSharedJob(route.jobId);
    },
    connection() {},
  });
}

async function start(): Promise<void> {
  let userId: string;
  try {
    userId = (await ensureSignedIn()).id;
  } catch (error) {
    $("session").textContent = userMessage(error);
    return;
  }
  $("session").textContent = "Signed in anonymously on this browser. Your jobs stay here.";
  document.body.dataset.user = userId;
  submit.start(userId);
  panel.start(userId);
  addEventListener("offline", showFreshness);
  addEventListener("online", () => {
    showFreshness();
    void panel.refresh();
  });
  await panel.refresh();
  await openShared(userId);
  await subscribeJobs(`user:${userId}:jobs`, {
    change: (change) => {
      panel.apply(change);
      // Progress of the job in the viewer: its partial transcript grows as chunks finish.
      if (change.record && !change.record.deleted_at) viewer.jobChanged(change.record);
    },
    connection(connected) {
      const wasUp = channelUp;
      channelUp = connected;
      everConnected ||= connected;
      showFreshness();
      // Changes may have been missed while away: re-sync once the channel is back.
      if (connected && !wasUp) {
        void panel.refresh();
        if (sharedJobId) void showSharedJob(sharedJobId);
      }
    },
  });
}

void start();
