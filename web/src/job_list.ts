/**
 * The jobs list as data (unit-tested in job_list_test.ts; jobs_panel.ts draws it): the status
 * sections, what a live change does to the page shown, which jobs changed status between two
 * reads, the pager, the stats line and the filename search pattern.
 */
import type { JobQuery, JobRow, Stats } from "./jobs.ts";
import type { JobChange } from "./live_updates.ts";

export const PAGE_SIZE = 10;

export const isActive = (job: Pick<JobRow, "status">) =>
  job.status === "pending" || job.status === "processing";

const SECTIONS = [
  { key: "active", title: "Active", test: (j: JobRow) => isActive(j) },
  { key: "completed", title: "Completed", test: (j: JobRow) => j.status === "completed" },
  {
    key: "failed",
    title: "Failed or cancelled",
    test: (j: JobRow) => !isActive(j) && j.status !== "completed",
  },
] as const;

/** The page's jobs by section (active, completed, failed or cancelled), empty ones left out. */
export function sectionsOf(jobs: JobRow[]): { key: string; title: string; jobs: JobRow[] }[] {
  return SECTIONS.map((s) => ({ key: s.key, title: s.title, jobs: jobs.filter(s.test) }))
    .filter((s) => s.jobs.length > 0);
}

/** What a Realtime change does to the page shown. */
export type ChangeEffect =
  /** Not on this page and not new: nothing. */
  | { kind: "none" }
  /** A job left (deleted, expired) or a new one arrived: read the page again. */
  | { kind: "refetch" }
  /** A job of the page changed: `jobs` is the page with it replaced. */
  | { kind: "replace"; jobs: JobRow[]; row: JobRow; before: JobRow };

export function changeEffect(jobs: JobRow[], change: JobChange): ChangeEffect {
  const row = change.record;
  const id = row?.id ?? change.old?.id;
  if (!id) return { kind: "none" };
  const index = jobs.findIndex((j) => j.id === id);
  if (!row || row.deleted_at || change.operation === "DELETE") {
    return index >= 0 ? { kind: "refetch" } : { kind: "none" };
  }
  if (index < 0) return change.operation === "INSERT" ? { kind: "refetch" } : { kind: "none" };
  const replaced = jobs.map((j, i) => (i === index ? row : j));
  return { kind: "replace", jobs: replaced, row, before: jobs[index] };
}

/** Jobs of `after` whose status differs from the same job in `before` (announcements). */
export function statusChanges(
  before: JobRow[],
  after: JobRow[],
): { job: JobRow; was: JobRow["status"] }[] {
  const old = new Map(before.map((j) => [j.id, j.status]));
  return after.flatMap((job) => {
    const was = old.get(job.id);
    return was && was !== job.status ? [{ job, was }] : [];
  });
}

/** The unfiltered first page: the one kept as the offline snapshot. */
export function isFirstPage(query: JobQuery): boolean {
  return query.status === "all" && !query.search && query.page === 0;
}

/** The pager for `total` matching jobs. */
export function pager(page: number, total: number) {
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  return { label: `Page ${page + 1} of ${pages}`, prev: page > 0, next: page + 1 < pages };
}

/** The one-line summary of the user's jobs, and the active count for the drawer's button. */
export function statsLine(stats: Stats): { text: string; active: number } {
  const by = stats.by_status ?? {};
  const active = (by.pending ?? 0) + (by.processing ?? 0);
  const parts = [
    `${stats.total} job${stats.total === 1 ? "" : "s"}`,
    `${active} active`,
    `${by.completed ?? 0} completed`,
    `${(by.failed ?? 0) + (by.cancelled ?? 0)} failed or cancelled`,
    `${stats.media_minutes ?? 0} minutes transcribed`,
  ];
  if (stats.average_processing_seconds) {
    parts.push(`${Math.round(stats.average_processing_seconds)} s average processing`);
  }
  return { text: parts.join(" · "), active };
}

/**
 * The PostgREST `ilike` pattern of a filename search: `*` is the wildcard, so the user's own
 * `*`, `%`, `_` and `\` are escaped to stand for themselves.
 */
export function filenamePattern(search: string): string | null {
  const text = search.trim();
  return text ? `*${text.replace(/[*%_\\]/g, "\\$&")}*` : null;
}
