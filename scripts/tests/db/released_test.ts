/**
 * Released migrations are never edited: each one listed in supabase/releases/released.json must
 * exist with exactly the SHA-256 it was released with. A project that already applied a version
 * never applies it again (`supabase db push` records versions, not contents), so an edit would
 * reach no deployed project. Needs no stack and no git history (CI may clone shallowly).
 */
import { join } from "node:path";
import { sha256Hex } from "../../lib/digest.ts";

const root = new URL("../../..", import.meta.url).pathname;
const migrations = join(root, "supabase/migrations");

interface Released {
  migrations: Record<string, { release: string; commit: string; sha256: string }>;
}

const sha256 = async (path: string) => sha256Hex(await Deno.readFile(path));

const released: Released = JSON.parse(
  await Deno.readTextFile(join(root, "supabase/releases/released.json")),
);

Deno.test("every released migration is byte for byte as released", async () => {
  const names = Object.keys(released.migrations);
  if (!names.includes("20261122000000_job_engine.sql")) {
    throw new Error("the first release (20261122000000_job_engine.sql) is missing from the list");
  }
  for (const name of names) {
    const actual = await sha256(join(migrations, name)).catch(() => "missing");
    if (actual !== released.migrations[name].sha256) {
      throw new Error(
        `${name} was released in ${released.migrations[name].release} and must never change ` +
          `(sha256 ${actual}, released ${released.migrations[name].sha256}): ` +
          `put the change in a new migration (deno task db:diff <name>)`,
      );
    }
  }
});

Deno.test("new migrations sort after every released one", async () => {
  const last = Object.keys(released.migrations).sort().at(-1)!;
  for await (const entry of Deno.readDir(migrations)) {
    if (!entry.name.endsWith(".sql") || entry.name in released.migrations) continue;
    if (entry.name <= last) {
      throw new Error(
        `${entry.name} sorts before the released ${last}: a deployed project would skip or ` +
          `misorder it; give it a later timestamp`,
      );
    }
  }
});
