/**
 * Supabase Storage's error body, `{statusCode, code, error, message}`, for every /storage/v1 route.
 * storage-js reads `message` and `statusCode`; `code` is the newer machine-readable name.
 */
import { HttpError } from "../http.ts";

export function storageError(
  status: number,
  error: string,
  message: string,
  code?: string,
): HttpError {
  return new HttpError(status, {
    statusCode: String(status),
    ...(code ? { code } : {}),
    error,
    message,
  });
}

export const objectNotFound = () => storageError(404, "not_found", "Object not found", "NoSuchKey");
export const bucketNotFound = () =>
  storageError(404, "Bucket not found", "Bucket not found", "NoSuchBucket");
export const duplicateObject = () =>
  storageError(409, "Duplicate", "The resource already exists", "Duplicate");
export const rlsDenied = () =>
  storageError(403, "Unauthorized", "new row violates row-level security policy", "AccessDenied");
export const payloadTooLarge = () =>
  storageError(
    413,
    "Payload too large",
    "The object exceeded the maximum allowed size",
    "EntityTooLarge",
  );
export const invalidMimeType = (mime: string) =>
  storageError(415, "invalid_mime_type", `mime type ${mime} is not supported`, "InvalidMimeType");
export const invalidKey = (name: string) =>
  storageError(400, "Invalid Input", `Invalid key: ${name}`, "InvalidKey");

/**
 * The Postgres error a failed statement raised, mapped to what Storage answers. An error a
 * policy or trigger raised itself is Storage's `DatabaseError` carrying the database's message;
 * one raised with a PostgREST-style SQLSTATE (`PT<status>`) keeps that HTTP status and names
 * its HINT as the code, so the uploader reads why.
 */
export function fromPgError(e: unknown): unknown {
  const { code, message, hint } = e as { code?: string; message?: string; hint?: string };
  if (code === "42501") return rlsDenied();
  if (code === "23505") return duplicateObject();
  if (code && /^PT[1-5]\d\d$/.test(code)) {
    return storageError(Number(code.slice(2)), "DatabaseError", message ?? code, hint || code);
  }
  return e;
}

/** Body of a 401 in Storage's shape, for `authenticate`. */
export const unauthorizedShape = (message: string) => ({
  statusCode: "403",
  error: "Unauthorized",
  message,
});
