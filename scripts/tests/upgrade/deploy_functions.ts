/**
 * "Deploy the functions" of the upgrade test, in one place. Today the local stack serves
 * supabase/functions of a tree from disk (this repository, or the one named in
 * `<stack dir>/functions.root`: scripts/stack/gateway/functions.ts), so a deploy names the tree
 * and restarts every function process (each loads the code again; a task running in a killed
 * process is recovered by the engine's stale-heartbeat path). When the stack deploys through
 * the real Supabase CLI, this becomes `supabase functions deploy --use-api --workdir <tree>`.
 */
import { join } from "node:path";
import { stackConfig } from "../../stack/config.ts";
import { functionPid, killFunction } from "../support/function_processes.ts";

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

/**
 * Deploys the functions of `tree` (a checkout's root; this repository when absent) to the
 * stack; returns once every one answers.
 */
export async function deployFunctions(tree?: string): Promise<string[]> {
  const named = join(stackConfig().dir, "functions.root");
  if (tree && tree !== stackConfig().root) await Deno.writeTextFile(named, tree);
  else await Deno.remove(named).catch(() => {});
  const names = await functionNames();
  await Promise.all(names.map((name) => killFunction(name, "SIGTERM")));
  // Each new process runs in its folder of the tree deployed (the sandbox's working directory).
  const root = tree ?? stackConfig().root;
  for (const name of names) {
    const want = join(root, "supabase/functions", name);
    const cwd = await Deno.readLink(`/proc/${await functionPid(name)}/cwd`);
    if (cwd !== want) throw new Error(`function ${name} runs in ${cwd}, not the deployed ${want}`);
  }
  return names;
}
