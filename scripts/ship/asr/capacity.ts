/**
 * The offline engine's capacity: one request at a time. Each request already decodes on every
 * core of this machine (pocketsphinx.ts), so chunks sent at once only queue here: with a 1-hour
 * recording the last ones waited past the provider timeout and the step's 150 s wall clock,
 * were sent again, and the job failed. A hosted project never uses this engine (its functions
 * cannot reach this machine), so the product ships without such a cap; the entry points that
 * run the product against it (`deno task dev`, `deno task test`) set the engine's own caps, the
 * product's `private.settings.step_parallelism`, to one transcribe task in flight while
 * transcribe uses it, and lift it for any other engine.
 */
import postgres from "postgres";

/** Whether a functions env (supabase/functions/.env) transcribes with the offline engine. */
export function usesOfflineEngine(env: Record<string, string | undefined>): boolean {
  return (env.TRANSCRIBE_PROVIDER?.trim() || "offline") === "offline";
}

/** The value of step_parallelism for transcription with or without the offline engine. */
export function stepCapsFor(caps: Record<string, number>, offline: boolean) {
  const { transcribe: _, ...others } = caps;
  return offline ? { ...others, transcribe: 1 } : others;
}

/** Sets the transcribe cap in the database at `dbUrl` for the engine `env` names. */
export async function capForOfflineEngine(
  dbUrl: string,
  env: Record<string, string | undefined>,
): Promise<void> {
  const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
  try {
    await sql.begin(async (tx) => {
      const [{ caps }] = await tx`select step_parallelism as caps from private.settings for update`;
      await tx`update private.settings set step_parallelism = ${
        tx.json(stepCapsFor(caps, usesOfflineEngine(env)))
      }`;
    });
  } finally {
    await sql.end();
  }
}
