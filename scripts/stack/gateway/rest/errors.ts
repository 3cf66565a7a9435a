/**
 * PostgREST's error shape ({code, message, details, hint}) and its SQLSTATE → HTTP status table,
 * as documented at docs.postgrest.org ("Errors") and on Supabase's "Error Codes" page.
 */
import { HttpError } from "../http.ts";

/** An error PostgREST itself raises (code PGRSTxxx), before or around the database call. */
export function pgrstError(
  status: number,
  code: string,
  message: string,
  details: string | null = null,
  hint: string | null = null,
): HttpError {
  return new HttpError(status, { code, message, details, hint });
}

/** PGRST100: the query string does not parse. */
export function parseError(what: string, details: string): HttpError {
  return pgrstError(400, "PGRST100", `failed to parse ${what}`, details);
}

interface PgLikeError {
  code: string;
  message: string;
  detail?: string;
  hint?: string;
  severity?: string;
}

export function isPostgresError(e: unknown): e is PgLikeError {
  return typeof e === "object" && e !== null && "code" in e && "severity" in e &&
    typeof (e as PgLikeError).code === "string";
}

/** The HTTP status PostgREST answers a database error with. */
export function statusForSqlState(code: string, role: string): number {
  if (/^PT\d{3}$/.test(code)) return Number(code.slice(2));
  const exact: Record<string, number> = {
    "23503": 409,
    "23505": 409,
    "25006": 405,
    "53400": 500,
    "P0001": 400,
    "42883": 404,
    "42P01": 404,
    "42P17": 500,
  };
  if (code in exact) return exact[code];
  if (code === "42501") return role === "anon" ? 401 : 403;
  const byClass: Record<string, number> = {
    "08": 503,
    "09": 500,
    "0L": 403,
    "0P": 403,
    "25": 500,
    "28": 403,
    "2D": 500,
    "38": 500,
    "39": 500,
    "3B": 500,
    "40": 500,
    "53": 503,
    "54": 500,
    "55": 500,
    "57": 500,
    "58": 500,
    "F0": 500,
    "HV": 500,
    "P0": 500,
    "XX": 500,
  };
  return byClass[code.slice(0, 2)] ?? 400;
}

/** A database error as PostgREST forwards it: the status from the table, the fields intact. */
export function fromPostgresError(e: PgLikeError, role: string): HttpError {
  return new HttpError(statusForSqlState(e.code, role), {
    code: e.code,
    message: e.message,
    details: e.detail ?? null,
    hint: e.hint ?? null,
  });
}
