/** The one place that turns failures into text for the user. */

/**
 * The message to show. Database errors already carry a user-facing `message` (see
 * supabase/schemas/README.md), so it is shown as is.
 */
export function userMessage(error: unknown): string {
  if (error && typeof error === "object" && "message" in error) {
    const message = String((error as { message: unknown }).message);
    if (message) return message;
  }
  return "Something went wrong. Please try again.";
}
