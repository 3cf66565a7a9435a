/** The jobs list's logic (job_list.ts): sections, live changes, status changes, pager, stats. */
import assert from "node:assert/strict";
import type { JobRow, JobStatus } from "./jobs.ts";
import {
  changeEffect,
  filenamePattern,
  isFirstPage,
  pager,
  sectionsOf,
  statsLine,
  statusChanges,
} from "./job_list.ts";

function job(id: string, status: JobStatus, extra: Partial<JobRow> = {}): JobRow {
  return {
    id,
    owner_id: "me",
    filename: `${id}.mp4`,
    status,
    stage: null,
    stage_message: null,
    progress: 0,
    error_code: null,
    error_message: null,
    cached_from: null,
    cached_at: null,
    created_at: "2026-12-08T00:00:00Z",
    completed_at: null,
    media: { path: `me/${id}/manifest.json`, bytes: 1, sha256: "x" },
    options: {},
    ...extra,
  };
}

const page = [
  job("a", "processing"),
  job("b", "completed"),
  job("c", "pending"),
  job("d", "cancelled"),
  job("e", "failed"),
];

Deno.test("sections: active (pending and processing), completed, failed or cancelled; empty ones left out", () => {
  assert.deepEqual(
    sectionsOf(page).map((s) => [s.title, s.jobs.map((j) => j.id)]),
    [["Active", ["a", "c"]], ["Completed", ["b"]], ["Failed or cancelled", ["d", "e"]]],
  );
  assert.deepEqual(sectionsOf([job("b", "completed")]).map((s) => s.key), ["completed"]);
  assert.deepEqual(sectionsOf([]), []);
});

Deno.test("a live change to a job of the page replaces it in place, keeping the order", () => {
  const row = job("c", "processing", { progress: 40 });
  const effect = changeEffect(page, { operation: "UPDATE", record: row, old: { id: "c" } });
  assert.equal(effect.kind, "replace");
  if (effect.kind !== "replace") return;
  assert.deepEqual(effect.jobs.map((j) => j.id), ["a", "b", "c", "d", "e"]);
  assert.equal(effect.jobs[2].progress, 40);
  assert.equal(effect.before.status, "pending");
  assert.equal(page[2].status, "pending", "the page given is not changed");
});

Deno.test("a new job, or one deleted or hidden, makes the page read again; others are ignored", () => {
  const fresh = job("z", "pending");
  assert.deepEqual(changeEffect(page, { operation: "INSERT", record: fresh, old: null }), {
    kind: "refetch",
  });
  assert.deepEqual(changeEffect(page, { operation: "DELETE", record: null, old: { id: "b" } }), {
    kind: "refetch",
  });
  const hidden = job("b", "completed", { deleted_at: "2026-12-08T01:00:00Z" });
  assert.deepEqual(changeEffect(page, { operation: "UPDATE", record: hidden, old: { id: "b" } }), {
    kind: "refetch",
  });
  // Another page's job: nothing to do here.
  const elsewhere = job("y", "processing");
  assert.deepEqual(changeEffect(page, { operation: "UPDATE", record: elsewhere, old: null }), {
    kind: "none",
  });
  assert.deepEqual(changeEffect(page, { operation: "DELETE", record: null, old: { id: "y" } }), {
    kind: "none",
  });
});

Deno.test("status changes between two reads: only jobs on both with a different status", () => {
  const later = [job("a", "completed"), job("b", "completed"), job("n", "pending")];
  assert.deepEqual(statusChanges(page, later).map((c) => [c.job.id, c.was, c.job.status]), [
    ["a", "processing", "completed"],
  ]);
});

Deno.test("pager: 10 a page, at least one page", () => {
  assert.deepEqual(pager(0, 0), { label: "Page 1 of 1", prev: false, next: false });
  assert.deepEqual(pager(0, 10), { label: "Page 1 of 1", prev: false, next: false });
  assert.deepEqual(pager(0, 11), { label: "Page 1 of 2", prev: false, next: true });
  assert.deepEqual(pager(1, 11), { label: "Page 2 of 2", prev: true, next: false });
});

Deno.test("only the unfiltered first page is the snapshot", () => {
  assert.ok(isFirstPage({ status: "all", search: "", page: 0 }));
  assert.ok(!isFirstPage({ status: "all", search: "", page: 1 }));
  assert.ok(!isFirstPage({ status: "active", search: "", page: 0 }));
  assert.ok(!isFirstPage({ status: "all", search: "talk", page: 0 }));
});

Deno.test("stats line", () => {
  const stats = {
    total: 7,
    by_status: { pending: 1, processing: 1, completed: 3, failed: 1, cancelled: 1 },
    media_minutes: 95,
    average_processing_seconds: 41.6,
  };
  assert.deepEqual(statsLine(stats), {
    active: 2,
    text:
      "7 jobs · 2 active · 3 completed · 2 failed or cancelled · 95 minutes transcribed · 42 s average processing",
  });
  const none = { total: 1, by_status: null, media_minutes: null, average_processing_seconds: null };
  assert.deepEqual(statsLine(none), {
    active: 0,
    text: "1 job · 0 active · 0 completed · 0 failed or cancelled · 0 minutes transcribed",
  });
});

Deno.test("filename search: the user's wildcards stand for themselves", () => {
  assert.equal(filenamePattern("  "), null);
  assert.equal(filenamePattern(" talk "), "*talk*");
  assert.equal(filenamePattern("50%_*off\\"), "*50\\%\\_\\*off\\\\*");
});
