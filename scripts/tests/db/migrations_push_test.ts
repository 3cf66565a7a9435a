/**
 * Upgrading a database the way `deno task stack start` does on an existing stack (and
 * `supabase db push` on a hosted project): a database at the released baseline (v1.0.0) takes the
 * migrations that appeared since, with no reset; a migration that fails halfway changes nothing
 * (the CLI runs each file and its history row in one transaction); nothing pending is a no-op.
 * The real Supabase CLI on a throwaway cluster, through the stack's own pushMigrations.
 */
import { join } from "node:path";
import { repoRoot, stackConfig } from "../../stack/config.ts";
import { pushMigrations } from "../../stack/postgres.ts";
import { ensureSupabaseCliEnv } from "../../lib/supabase_cli.ts";
import { sqlFiles, withScratchDatabases } from "../../db/scratch.ts";
import { cronMigration } from "../../db/diff.ts";

const released = Object.keys(
  JSON.parse(await Deno.readTextFile(join(repoRoot, "supabase/releases/released.json")))
    .migrations,
).sort();

Deno.test("a database at the released baseline takes new migrations, each all or nothing", async () => {
  // A project folder whose migrations we control: the repository's scripts and config.toml.
  const root = await Deno.makeTempDir({ prefix: "ai-subs-upgrade-" });
  const migrations = join(root, "supabase/migrations");
  await Deno.mkdir(migrations, { recursive: true });
  await Deno.symlink(join(repoRoot, "scripts"), join(root, "scripts"));
  await Deno.symlink(join(repoRoot, "supabase/config.toml"), join(root, "supabase/config.toml"));
  const all = await sqlFiles("supabase/migrations");
  const name = (path: string) => path.slice(path.lastIndexOf("/") + 1);
  try {
    await withScratchDatabases(1, async ([db]) => {
      const config = { ...stackConfig(), root, dir: root, dbPort: db.port };
      await ensureSupabaseCliEnv(config);
      const applied = async () =>
        (await db.psql([
          "-A",
          "-t",
          "-c",
          "select version from supabase_migrations.schema_migrations order by 1",
        ]))
          .split("\n").filter(Boolean);
      const versionOf = (file: string) => file.split("_")[0];

      // The released baseline only, as a project deployed at v1.0.0.
      for (const file of released) {
        await Deno.copyFile(join(repoRoot, "supabase/migrations", file), join(migrations, file));
      }
      await pushMigrations(config);
      if ((await applied()).join() !== released.map(versionOf).join()) {
        throw new Error(`baseline: applied ${await applied()}`);
      }

      // A migration that fails halfway leaves the database as it was, and is not recorded.
      const broken = "29991231000000_fails_halfway.sql";
      await Deno.writeTextFile(
        join(migrations, broken),
        "create table public.half_done (id int);\nselect 1 / 0;\n",
      );
      const failed = await pushMigrations(config).then(() => false, () => true);
      if (!failed) throw new Error("a migration that raises was applied");
      const half = (await db.psql(["-A", "-t", "-c", "select to_regclass('public.half_done')"]))
        .trim();
      if (half !== "") throw new Error("the failed migration's first statement was kept");
      if ((await applied()).includes("29991231000000")) {
        throw new Error("the failed migration was recorded");
      }
      await Deno.remove(join(migrations, broken));

      // Every later migration appears (a `git pull`): the next push applies them, no reset.
      for (const file of all) await Deno.copyFile(file, join(migrations, name(file)));
      // With them, the pg_cron part db:diff writes, through the CLI's statement splitter.
      const job = { jobname: "ai-subs-probe", schedule: "5 * * * *", command: "select 'probe'" };
      const cronFile = "29991231000001_cron_probe.sql";
      await Deno.writeTextFile(
        join(migrations, cronFile),
        cronMigration(new Map(), new Map([[job.jobname, job]]))!,
      );
      const pending = [...all.map(name).filter((f) => !released.includes(f)), cronFile];
      if (pending.length < 2) throw new Error("no migration after the baseline to apply");
      const result = await pushMigrations(config);
      if ((await applied()).join() !== [...all.map(name), cronFile].map(versionOf).join()) {
        throw new Error(`after the upgrade: applied ${await applied()}`);
      }
      if (result.applied.join() !== pending.join()) {
        throw new Error(`reported as applied: ${result.applied}, expected ${pending}`);
      }

      const scheduled = await db.psql([
        "-A",
        "-t",
        "-c",
        "select schedule || ' ' || command from cron.job where jobname = 'ai-subs-probe'",
      ]);
      if (scheduled.trim() !== "5 * * * * select 'probe'") {
        throw new Error(`the cron part did not schedule its job: ${JSON.stringify(scheduled)}`);
      }

      // Nothing pending: nothing applied, and the CLI is not even started.
      const again = await pushMigrations(config);
      if (again.applied.length || again.ranCli) {
        throw new Error(`nothing was pending, yet: ${JSON.stringify(again)}`);
      }
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
