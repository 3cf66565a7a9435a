/**
 * The last known state of the user's jobs, kept in localStorage so that the page shows
 * something true-ish while offline (with the stale banner) and right after a reload.
 */
import { z } from "zod";
import { JobRow } from "./jobs.ts";

const Snapshot = z.object({
  userId: z.string(),
  savedAt: z.string(),
  jobs: z.array(JobRow),
  total: z.number(),
});
export type Snapshot = z.infer<typeof Snapshot>;

const KEY = "ai-subs.jobs-snapshot";

export function saveSnapshot(userId: string, jobs: JobRow[], total: number): void {
  const snapshot: Snapshot = { userId, savedAt: new Date().toISOString(), jobs, total };
  try {
    localStorage.setItem(KEY, JSON.stringify(snapshot));
  } catch {
    // Storage full or disabled: the page still works online.
  }
}

/** The stored snapshot of this user, or null (none, another user's, or unreadable). */
export function loadSnapshot(userId: string): Snapshot | null {
  try {
    const parsed = Snapshot.safeParse(JSON.parse(localStorage.getItem(KEY) ?? "null"));
    return parsed.success && parsed.data.userId === userId ? parsed.data : null;
  } catch {
    return null;
  }
}
