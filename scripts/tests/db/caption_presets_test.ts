/**
 * The caption presets are defined once, in SQL (public.caption_presets, 047_caption_presets.sql);
 * the README's "Caption styles" table must show exactly those rows, numbers and sources, and the
 * submission path must accept each of them and refuse any other name.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { repoRoot } from "../../lib/repo.ts";
import { adminSql } from "../support/stack_env.ts";

interface Row {
  name: string;
  numbers: number[];
  source: string;
}

/** The rows of the README's preset table: | `name` | chars | lines | cps | min | max | source |. */
export function readmePresets(readme: string): Row[] {
  const rows: Row[] = [];
  for (const line of readme.split("\n")) {
    const m = /^\| `(\w+)` +((?:\| [\d.]+ +){5})\| (.*?) +\|$/.exec(line);
    if (!m) continue;
    const numbers = m[2].split("|").map((s) => s.trim()).filter(Boolean).map(Number);
    rows.push({ name: m[1], numbers, source: m[3] });
  }
  return rows;
}

Deno.test("the README's caption style table is the database's", async () => {
  const sql = adminSql();
  try {
    const db = await sql<
      {
        name: string;
        max_line_chars: number;
        max_lines: number;
        max_chars_per_second: string;
        min_duration: string;
        max_duration: string;
        source: string;
      }[]
    >`select * from public.caption_presets order by position`;
    const fromDb = db.map((r) => ({
      name: r.name,
      numbers: [
        r.max_line_chars,
        r.max_lines,
        Number(r.max_chars_per_second),
        Number(r.min_duration),
        Number(r.max_duration),
      ],
      source: r.source,
    }));
    const readme = readmePresets(await Deno.readTextFile(join(repoRoot, "README.md")));
    assert.ok(fromDb.length >= 1, "no presets in the database");
    assert.deepEqual(readme, fromDb);
  } finally {
    await sql.end();
  }
});

Deno.test("every preset of the table is accepted with its numbers; other names are refused", async () => {
  const sql = adminSql();
  try {
    const presets = await sql<{ name: string; max_line_chars: number }[]>`
      select name, max_line_chars from public.caption_presets`;
    for (const p of presets) {
      const [{ style }] = await sql`select private.normalize_options(
        jsonb_build_object('caption_style', jsonb_build_object('preset', ${p.name}::text))
      ) -> 'caption_style' as style`;
      assert.equal(style.preset, p.name);
      assert.equal(style.max_line_chars, p.max_line_chars);
    }
    // What the CLI's help offered before presets came from the table.
    await assert.rejects(
      sql`select private.normalize_options('{"caption_style": {"preset": "netflix"}}')`,
      /must be one of/,
    );
  } finally {
    await sql.end();
  }
});

Deno.test("the README parser reads preset rows and nothing else", () => {
  const rows = readmePresets(
    "| preset | a |\n| `wide` | 50 | 2 | 20 | 0.833 | 7 | our own |\n| `x` | no |\n",
  );
  assert.deepEqual(rows, [{ name: "wide", numbers: [50, 2, 20, 0.833, 7], source: "our own" }]);
});
