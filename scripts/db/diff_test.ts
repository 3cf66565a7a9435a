import { cronMigration, grantFixes, NAME_PATTERN, nextVersion } from "./diff.ts";

function assertEquals(actual: unknown, expected: unknown) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

Deno.test("a new migration's version is now, or just after the newest existing one", () => {
  const now = new Date("2026-12-08T01:02:03.456Z");
  assertEquals(nextVersion(["20261122000000_job_engine.sql"], now), "20261208010203");
  // Another branch's migration from a later clock: the new one still sorts after it.
  assertEquals(
    nextVersion(["20261122000000_job_engine.sql", "20261208010203_other.sql"], now),
    "20261208010204",
  );
  assertEquals(nextVersion([], now), "20261208010203");
});

Deno.test("migration names: lowercase words joined by _, nothing a file name could trip on", () => {
  for (const good of ["add_job_labels", "a", "v2_contract"]) {
    if (!NAME_PATTERN.test(good)) throw new Error(`${good} refused`);
  }
  for (const bad of ["", "Add", "2fast", "drop table", "../x", "a-b", "x".repeat(64)]) {
    if (NAME_PATTERN.test(bad)) throw new Error(`${JSON.stringify(bad)} accepted`);
  }
});

Deno.test("cron jobs: changed or new ones scheduled by name, removed ones unscheduled, guarded", () => {
  const job = (jobname: string, schedule: string, command: string) =>
    [jobname, { jobname, schedule, command }] as const;
  const current = new Map([
    job("tick", "* * * * *", "select public.tick()"),
    job("gone", "0 * * * *", "select 1"),
    job("same", "5 * * * *", "select 'it''s'"),
  ]);
  const wanted = new Map([
    job("tick", "*/2 * * * *", "select public.tick()"),
    job("new", "30 * * * *", "select 'o''k'"),
    job("same", "5 * * * *", "select 'it''s'"),
  ]);
  const sql = cronMigration(current, wanted)!;
  for (
    const expected of [
      "perform cron.schedule('tick', '*/2 * * * *', 'select public.tick()');",
      "perform cron.schedule('new', '30 * * * *', 'select ''o''''k''');",
      "perform cron.unschedule(jobid) from cron.job where jobname = 'gone';",
      "current_database() = coalesce(current_setting('cron.database_name', true), 'postgres')",
    ]
  ) {
    if (!sql.includes(expected)) throw new Error(`missing ${expected} in\n${sql}`);
  }
  if (sql.includes("'same'")) throw new Error(`an unchanged job is rescheduled:\n${sql}`);
  assertEquals(cronMigration(current, current), null);
});

Deno.test("grants left different are revoked, then granted as the schema has them", () => {
  const sql = grantFixes([
    { key: "grant function public.f(a integer) to anon", left: "EXECUTE", right: undefined },
    {
      key: "grant column public.jobs.filename to authenticated",
      left: "SELECT",
      right: "INSERT,SELECT*",
    },
    { key: "relation public.jobs", left: "a", right: "b" },
  ])!;
  for (
    const expected of [
      "revoke all on function public.f(a integer) from anon;",
      "revoke all (filename) on table public.jobs from authenticated;",
      "grant insert (filename) on table public.jobs to authenticated;",
      "grant select (filename) on table public.jobs to authenticated with grant option;",
    ]
  ) {
    if (!sql.includes(expected)) throw new Error(`missing ${expected} in\n${sql}`);
  }
  if (sql.includes("relation")) throw new Error("a fact that is no grant was turned into SQL");
  assertEquals(grantFixes([{ key: "index public.x", left: "a", right: undefined }]), null);
});
