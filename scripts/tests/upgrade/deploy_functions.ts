/**
 * "Deploy the functions" of the upgrade test, as a user deploys them: the real Supabase CLI
 * (`supabase functions deploy --use-api`) run in a tree (a checkout's root: the last release's, or
 * this repository), against the stack's own Management API (scripts/stack/control_plane). The
 * stack then serves each function from that upload and replaces its running process (a task
 * running in the old process is recovered by the engine's stale-heartbeat path).
 */
import { join } from "node:path";
import { functionNames } from "../../ship/function_imports.ts";
import { stackConfig } from "../../stack/config.ts";
import { runCliAgainstStack } from "../../stack/control_plane/access.ts";
import { functionPid, waitForRestart } from "../support/function_processes.ts";

/**
 * Deploys the functions of `tree` (this repository when absent) to the stack with the CLI;
 * returns once every one runs in a new process that answers.
 */
export async function deployFunctions(tree?: string): Promise<string[]> {
  const config = stackConfig();
  const root = tree ?? config.root;
  const names = await functionNames(join(root, "supabase/functions"));
  const before = new Map<string, number>();
  for (const name of names) before.set(name, await functionPid(name).catch(() => 0));
  await runCliAgainstStack(config, ["functions", "deploy", "--use-api", "--workdir", root], {
    cwd: root,
  });
  for (const name of names) await waitForRestart(name, before.get(name)!, 60_000);
  return names;
}
