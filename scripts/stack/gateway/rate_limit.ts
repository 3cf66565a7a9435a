/**
 * Anonymous sign-ins limited per IP address, as Supabase Auth limits them on a hosted project:
 * a token bucket per client address holding at most 30 sign-ins (the burst), refilled at
 * `[auth.rate_limit] anonymous_users` per hour (supabase/config.toml, hosted default 30); an
 * empty bucket answers 429 `over_request_rate_limit`. STACK_AUTH_RATE_LIMIT_ANONYMOUS_USERS
 * overrides the file (the test stack raises it, as a project's dashboard would).
 */
import { parse as parseToml } from "smol-toml";
import { HttpError } from "./http.ts";

/** Hosted Auth's bucket size for IP-limited endpoints. */
export const BURST = 30;

export class TokenBuckets {
  #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly perHour: number,
    readonly burst = BURST,
    readonly now: () => number = Date.now,
  ) {}

  /** Takes one token for `key`; false when its bucket is empty. */
  take(key: string): boolean {
    const now = this.now();
    const refill = this.perHour / 3_600_000;
    const bucket = this.#buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) * refill);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > 100_000) this.#forgetFull(now, refill);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Full buckets carry no information: drop them so the map stays bounded. */
  #forgetFull(now: number, refill: number) {
    for (const [key, b] of this.#buckets) {
      if (b.tokens + (now - b.at) * refill >= this.burst) this.#buckets.delete(key);
    }
  }
}

/** `[auth.rate_limit] anonymous_users` (per hour per IP), or the override, or hosted's 30. */
export function anonymousUsersPerHour(
  root: string,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): number {
  const override = Number(env.STACK_AUTH_RATE_LIMIT_ANONYMOUS_USERS);
  if (override > 0) return override;
  const config = parseToml(Deno.readTextFileSync(`${root}/supabase/config.toml`)) as {
    auth?: { rate_limit?: { anonymous_users?: number } };
  };
  return Number(config.auth?.rate_limit?.anonymous_users ?? 30);
}

let anonymousSignIns: TokenBuckets | undefined;

/** Throws hosted Auth's 429 when `ip` has used up its anonymous sign-ins. */
export function limitAnonymousSignIn(root: string, ip: string): void {
  anonymousSignIns ??= new TokenBuckets(anonymousUsersPerHour(root));
  if (!anonymousSignIns.take(ip)) {
    throw new HttpError(429, {
      code: 429,
      error_code: "over_request_rate_limit",
      msg: "Request rate limit reached",
    });
  }
}

const clientAddresses = new WeakMap<Request, string>();

/** Called by the server for every request: who is on the other end of its connection. */
export function rememberClientAddress(req: Request, addr: Deno.Addr): void {
  if (addr.transport === "tcp" || addr.transport === "udp") clientAddresses.set(req, addr.hostname);
}

/** The address a request came from (the TCP peer: no forwarded header is trusted). */
export function clientIp(req: Request): string {
  return clientAddresses.get(req) ?? "unknown";
}
