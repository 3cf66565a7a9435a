/** The committed database types equal what `supabase gen types` makes from the migrations. */
import { generateTypes, TYPES_PATH } from "../../db/gen_types.ts";

Deno.test("database.types.ts is up to date with the schema (run `deno task types`)", async () => {
  const fresh = await generateTypes();
  const current = await Deno.readTextFile(TYPES_PATH);
  if (current !== fresh) throw new Error(`${TYPES_PATH} is stale: run \`deno task types\``);
  if (!current.includes(`"jobs"`) || !current.includes(`"claim_task"`)) {
    throw new Error("generated types do not describe the jobs table and the step API");
  }
});
