/** The one place the command-line client turns failures into a stable code and a message. */

/** A failure shown to the user as `error [code]: message` (or `{"error": …}` with --json). */
export class CliError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = "CliError";
  }
}

/**
 * A PostgREST / RPC error of the job engine: its `message` is already the friendly text and
 * `hint` the stable code (supabase/schemas/README.md); anything else is `internal`.
 */
export function fromApiError(
  error: { message?: string; hint?: string | null; code?: string },
): CliError {
  const code = error.hint && /^[a-z_]+$/.test(error.hint) ? error.hint : "internal";
  return new CliError(code, error.message || "Something went wrong. Please try again.");
}

/** Any failure as a CliError. */
export function asCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (error && typeof error === "object" && "hint" in error) {
    return fromApiError(error as { message?: string; hint?: string });
  }
  return new CliError("internal", error instanceof Error ? error.message : String(error));
}
