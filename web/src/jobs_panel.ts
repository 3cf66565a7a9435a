/**
 * The jobs drawer: a slide-out panel with the user's jobs in active, completed and failed
 * sections, a status filter, a filename search, 10 per page, a one-line stats summary, and
 * cards kept current by live changes. While the live connection is down it shows the last
 * known state from localStorage.
 */
import { trapFocus } from "./focus_trap.ts";
import { h } from "./html.ts";
import {
  type CardExtras,
  type CardHandlers,
  patchProgress,
  renderJobCard,
  statusText,
} from "./job_card.ts";
import {
  changeEffect,
  isFirstPage,
  pager,
  sectionsOf,
  statsLine,
  statusChanges,
} from "./job_list.ts";
import { loadSnapshot, saveSnapshot } from "./job_snapshot.ts";
import {
  estimateJob,
  fetchJobs,
  isActive,
  type JobQuery,
  type JobRow,
  jobSteps,
  myStats,
  type Stats,
} from "./jobs.ts";
import type { JobChange } from "./live_updates.ts";
import { KeyedThrottle } from "./throttle.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

export interface PanelEvents {
  /** A job's status changed while the page watched (for announcements and notifications). */
  statusChanged(job: JobRow, before: JobRow["status"]): void;
  /** Whether the data shown is fresh. */
  freshness(fresh: boolean): void;
}

export class JobsPanel {
  readonly root = $("drawer");
  #scrim: HTMLElement;
  #opener = $<HTMLButtonElement>("open-drawer");
  #sections = $("job-sections");
  #empty = $("jobs-empty");
  #stats = $("stats");
  #count = $("active-count");
  #filter = $<HTMLSelectElement>("status-filter");
  #search = $<HTMLInputElement>("search");
  #prev = $<HTMLButtonElement>("prev-page");
  #next = $<HTMLButtonElement>("next-page");
  #pageLabel = $("page-label");
  #release: (() => void) | null = null;
  #query: JobQuery = { status: "all", search: "", page: 0 };
  #jobs: JobRow[] = [];
  #total = 0;
  #extras = new Map<string, CardExtras>();
  /** Checklist refetches: at most one a second per job, the last change never skipped. */
  #extrasThrottle = new KeyedThrottle(1000);
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #userId = "";

  constructor(
    scrim: HTMLElement,
    private readonly handlers: CardHandlers,
    private readonly events: PanelEvents,
  ) {
    this.#scrim = scrim;
    this.#opener.addEventListener("click", () => this.open());
    $("close-drawer").addEventListener("click", () => this.close());
    scrim.addEventListener("click", () => this.close());
    this.#filter.addEventListener("change", () => {
      this.#query = { ...this.#query, status: this.#filter.value as JobQuery["status"], page: 0 };
      void this.refresh();
    });
    let searchTimer: ReturnType<typeof setTimeout> | undefined;
    this.#search.addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => {
        this.#query = { ...this.#query, search: this.#search.value, page: 0 };
        void this.refresh();
      }, 250);
    });
    this.#prev.addEventListener("click", () => this.#goTo(this.#query.page - 1));
    this.#next.addEventListener("click", () => this.#goTo(this.#query.page + 1));
  }

  get isOpen(): boolean {
    return !this.root.hidden;
  }

  /** Shows the last known jobs of `userId` at once (before the network answers). */
  start(userId: string): void {
    this.#userId = userId;
    const snapshot = loadSnapshot(userId);
    if (snapshot) {
      this.#jobs = snapshot.jobs;
      this.#total = snapshot.total;
      this.#render();
    }
  }

  open(): void {
    if (this.isOpen) return;
    this.root.hidden = false;
    this.#scrim.hidden = false;
    this.#opener.setAttribute("aria-expanded", "true");
    document.body.classList.add("drawer-open");
    this.#release = trapFocus(this.root, () => this.close());
    this.root.focus();
  }

  close(): void {
    if (!this.isOpen) return;
    this.root.hidden = true;
    this.#scrim.hidden = true;
    this.#opener.setAttribute("aria-expanded", "false");
    document.body.classList.remove("drawer-open");
    this.#release?.();
    this.#release = null;
  }

  /** Shows the first page of all jobs (after a submission). */
  showNewest(): Promise<void> {
    this.#query = { status: "all", search: "", page: 0 };
    this.#filter.value = "all";
    this.#search.value = "";
    return this.refresh();
  }

  #goTo(page: number): void {
    this.#query = { ...this.#query, page: Math.max(0, page) };
    void this.refresh();
  }

  /** Coalesces bursts of changes into one refetch. */
  scheduleRefresh(delay = 200): void {
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = setTimeout(() => void this.refresh(), delay);
  }

  /** Refetches the page, the stats and the extras of its active jobs. */
  async refresh(): Promise<void> {
    if (!this.#userId) return;
    let result;
    try {
      result = await fetchJobs(this.#userId, this.#query);
    } catch {
      this.events.freshness(false);
      return;
    }
    for (const { job, was } of statusChanges(this.#jobs, result.jobs)) {
      this.events.statusChanged(job, was);
    }
    // The server is the truth: jobs deleted or expired elsewhere silently leave the snapshot.
    if (isFirstPage(this.#query)) {
      saveSnapshot(this.#userId, result.jobs, result.total);
    }
    this.events.freshness(true);
    this.#jobs = result.jobs;
    this.#total = result.total;
    this.#render();
    void this.#loadStats();
    for (const job of this.#jobs) this.#loadExtras(job, true);
  }

  /** A change from Realtime. Progress is patched in place; anything else re-renders. */
  apply(change: JobChange): void {
    const effect = changeEffect(this.#jobs, change);
    if (effect.kind === "refetch") this.scheduleRefresh(0);
    if (effect.kind !== "replace") return;
    const { row, before } = effect;
    this.#jobs = effect.jobs;
    const card = this.#sections.querySelector<HTMLElement>(`[data-job-id="${row.id}"]`);
    if (before.status === row.status && card) {
      patchProgress(card, row);
      this.#loadExtras(row, false);
    } else {
      if (before.status !== row.status) {
        this.events.statusChanged(row, before.status);
        void this.#loadStats();
      }
      this.#render();
      this.#loadExtras(row, true);
    }
    if (isFirstPage(this.#query)) saveSnapshot(this.#userId, this.#jobs, this.#total);
  }

  /** The checklist and the estimate of an active job, at most once a second per job. */
  #loadExtras(job: JobRow, force: boolean): void {
    if (!isActive(job) && job.status === "completed") {
      this.#extras.delete(job.id);
      this.#extrasThrottle.drop(job.id);
      return;
    }
    if (force) this.#extrasThrottle.drop(job.id);
    this.#extrasThrottle.call(job.id, () => {
      const latest = this.#jobs.find((j) => j.id === job.id) ?? job;
      Promise.all([
        jobSteps(latest.id),
        isActive(latest) ? estimateJob(latest.id) : Promise.resolve(undefined),
      ])
        .then(([steps, estimate]) => {
          this.#extras.set(latest.id, { steps, estimate });
          const current = this.#jobs.find((j) => j.id === latest.id);
          if (current) this.#replaceCard(current);
        })
        .catch(() => {});
    });
  }

  async #loadStats(): Promise<void> {
    try {
      this.#showStats(await myStats());
    } catch {
      // The stats line keeps its last value.
    }
  }

  #showStats(stats: Stats): void {
    const { text, active } = statsLine(stats);
    this.#stats.textContent = text;
    this.#count.textContent = active ? `(${active} active)` : "";
  }

  #replaceCard(job: JobRow): void {
    const card = this.#sections.querySelector<HTMLElement>(`[data-job-id="${job.id}"]`);
    if (!card) return;
    const focusKey = focusedKey(card);
    const fresh = renderJobCard(job, this.#extras.get(job.id) ?? {}, this.handlers);
    card.replaceWith(fresh);
    restoreFocus(fresh, focusKey);
  }

  #render(): void {
    const focusKey = focusedKey(this.#sections);
    this.#sections.replaceChildren(
      ...sectionsOf(this.#jobs).map(({ key, title, jobs }) => {
        const headingId = `section-${key}`;
        return h(
          "section",
          { className: "job-section", attrs: { "aria-labelledby": headingId } },
          h("h3", { id: headingId, textContent: `${title} (${jobs.length})` }),
          h(
            "ul",
            { className: "jobs" },
            ...jobs.map((job) => renderJobCard(job, this.#extras.get(job.id) ?? {}, this.handlers)),
          ),
        );
      }),
    );
    restoreFocus(this.#sections, focusKey);
    this.#empty.hidden = this.#jobs.length > 0;
    const pages = pager(this.#query.page, this.#total);
    this.#pageLabel.textContent = pages.label;
    this.#prev.disabled = !pages.prev;
    this.#next.disabled = !pages.next;
  }

  /** The status text of a job on the current page (for announcements). */
  describe(job: JobRow): string {
    return `${job.filename}: ${statusText(job)}`;
  }
}

/** Which control had focus inside `container`, as "<job id>|<aria-label or text>". */
function focusedKey(container: HTMLElement): string | null {
  const active = document.activeElement;
  if (!(active instanceof HTMLElement) || !container.contains(active)) return null;
  const card = active.closest<HTMLElement>("[data-job-id]");
  return `${card?.dataset.jobId ?? ""}|${active.getAttribute("aria-label") ?? active.textContent}`;
}

function restoreFocus(container: HTMLElement, key: string | null): void {
  if (!key) return;
  const [jobId, label] = key.split("|");
  const scope = jobId
    ? container.querySelector<HTMLElement>(`[data-job-id="${jobId}"]`) ?? container
    : container;
  const match = [...scope.querySelectorAll<HTMLElement>("button, select, input")].find((el) =>
    (el.getAttribute("aria-label") ?? el.textContent) === label
  );
  match?.focus();
}
