/**
 * "Deploy the functions" of the upgrade test, in one place. Today the local stack serves
 * supabase/functions from the working tree, so a deploy is a restart of every function process
 * (each loads the code again; a task running in a killed process is recovered by the engine's
 * stale-heartbeat path). When the stack deploys through the real Supabase CLI
 * (`supabase functions deploy --use-api`), call that here instead.
 */
import { join } from "node:path";
import { stackConfig } from "../../stack/config.ts";
import { killFunction } from "../support/function_processes.ts";

/** The functions of supabase/functions (folders with an index.ts, not `_shared`). */
export async function functionNames(): Promise<string[]> {
  const dir = join(stackConfig().root, "supabase/functions");
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isDirectory || entry.name.startsWith("_") || entry.name.startsWith(".")) continue;
    const hasIndex = await Deno.stat(join(dir, entry.name, "index.ts")).then(
      () => true,
      () => false,
    );
    if (hasIndex) names.push(entry.name);
  }
  return names.sort();
}

/** Deploys the working tree's functions to the stack; returns once every one answers. */
export async function deployFunctions(): Promise<string[]> {
  const names = await functionNames();
  await Promise.all(names.map((name) => killFunction(name, "SIGTERM")));
  return names;
}
