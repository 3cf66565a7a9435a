/**
 * Stack-only controls over the Edge Function processes of the local stack (see
 * scripts/stack/gateway/functions.ts): which env overrides they start with
 * (`<stack dir>/functions.env`) and their process ids (`<stack dir>/run/functions/<name>.pid`).
 * Tests use them to point the steps at a provider fake and to kill a function mid-task.
 */
import { stackConfig } from "../../stack/config.ts";
import { join } from "node:path";
import { apiKeys, stackEnv } from "./stack_env.ts";

const overridesFile = () => join(stackConfig().dir, "functions.env");
const pidFile = (name: string) => join(stackConfig().dir, "run", "functions", `${name}.pid`);

/** The process id of a function's current process. */
export async function functionPid(name: string): Promise<number> {
  const pid = Number((await Deno.readTextFile(pidFile(name))).trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no pid for function ${name}`);
  return pid;
}

/** Waits until the gateway reaches a new process of `name` (any answer means it listens). */
export async function waitForRestart(
  name: string,
  oldPid: number,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (await functionPid(name).catch(() => oldPid) === oldPid) {
    if (Date.now() > deadline) throw new Error(`function ${name} did not restart`);
    await new Promise((r) => setTimeout(r, 50));
  }
  // A GET is refused by every function (405), after the gateway waited for it to listen.
  const res = await fetch(`${stackEnv().SUPABASE_URL}/functions/v1/${name}`, {
    headers: { apikey: apiKeys().secret },
  });
  await res.body?.cancel();
}

/** Kills a function's process (as a crash would); the stack starts a new one. */
export async function killFunction(name: string, signal: Deno.Signal = "SIGKILL"): Promise<void> {
  const pid = await functionPid(name);
  Deno.kill(pid, signal);
  await waitForRestart(name, pid);
}

/**
 * Restarts `names` with `vars` layered over supabase/functions/.env. Returns a function that
 * restores the previous overrides (and restarts the same functions again).
 */
export async function withFunctionEnv(
  names: string[],
  vars: Record<string, string>,
): Promise<() => Promise<void>> {
  const previous = await Deno.readTextFile(overridesFile()).catch(() => null);
  await Deno.writeTextFile(
    overridesFile(),
    Object.entries(vars).map(([k, v]) => `${k}=${v}\n`).join(""),
  );
  await Promise.all(names.map((n) => killFunction(n, "SIGTERM")));
  return async () => {
    if (previous === null) await Deno.remove(overridesFile()).catch(() => {});
    else await Deno.writeTextFile(overridesFile(), previous);
    await Promise.all(names.map((n) => killFunction(n, "SIGTERM")));
  };
}
