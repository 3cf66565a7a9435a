/**
 * Runs the offline transcription server (scripts/ship/asr) as a child process of the stack, on
 * its own port, so PocketSphinx's CPU work never stalls the gateway's event loop.
 */
import type { StackConfig } from "./config.ts";
import { join } from "node:path";

export interface AsrProcess {
  url: string;
  close(): Promise<void>;
}

export function startAsr(config: StackConfig): AsrProcess {
  const url = `http://127.0.0.1:${config.asrPort}`;
  let child: Deno.ChildProcess | null = null;
  let closing = false;
  const spawn = () => {
    child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(config.root, "scripts/ship/asr/server.ts"),
        "--port",
        String(config.asrPort),
      ],
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    child.status.then((s) => {
      if (closing) return;
      console.error(JSON.stringify({ msg: "asr server exited; restarting", code: s.code }));
      setTimeout(spawn, 500);
    });
  };
  // Not awaited: the stack is usable before the recogniser is, and callers retry on 503.
  spawn();
  return {
    url,
    async close() {
      closing = true;
      const c = child as Deno.ChildProcess | null;
      if (!c) return;
      try {
        c.kill("SIGTERM");
      } catch { /* already gone */ }
      await c.status;
    },
  };
}
