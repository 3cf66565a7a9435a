/** What every gateway route gets: the stack's config, keys and two connection pools. */
import type postgres from "postgres";
import type { StackConfig } from "../config.ts";
import type { KeyRing } from "../keys.ts";

export type Sql = postgres.Sql;

export interface GatewayContext {
  config: StackConfig;
  keys: KeyRing;
  /** Superuser pool, for the stack's own bookkeeping (never for a user's request). */
  admin: Sql;
  /** Pool logged in as `authenticator`; each request switches role as PostgREST does. */
  api: Sql;
}
