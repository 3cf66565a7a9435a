/**
 * Who may read from and write to a private channel topic, decided by the project's RLS policies
 * on realtime.messages — the way Supabase Realtime decides it: inside a transaction that is
 * always rolled back, a probe message for the topic is written, then, as the caller's role with
 * its JWT claims and `realtime.topic` set, the probe is selected back (read) and a second one is
 * inserted (write).
 */
import type { Caller } from "../request_role.ts";
import type { GatewayContext } from "../context.ts";

export interface TopicAccess {
  read: boolean;
  write: boolean;
}

export const NO_ACCESS: TopicAccess = { read: false, write: false };

class Rollback extends Error {
  constructor(readonly access: TopicAccess) {
    super("rollback");
  }
}

export async function probeTopicAccess(
  ctx: GatewayContext,
  caller: Caller,
  subTopic: string,
): Promise<TopicAccess> {
  try {
    // The superuser pool, because the read probe's row must exist whatever the caller may
    // insert; every statement after set_config runs as the caller, under RLS.
    await ctx.admin.begin(async (tx) => {
      const [probe] = await tx<{ id: string }[]>`
        insert into realtime.messages (topic, extension, private)
        values (${subTopic}, 'broadcast', true) returning id`;
      await tx`select
        set_config('role', ${caller.role}, true),
        set_config('request.jwt.claims', ${JSON.stringify(caller.claims)}, true),
        set_config('request.jwt.claim.sub', ${caller.claims.sub ?? ""}, true),
        set_config('request.jwt.claim.role', ${caller.role}, true),
        set_config('realtime.topic', ${subTopic}, true)`;
      const [seen] = await tx<{ read: boolean }[]>`
        select exists (select 1 from realtime.messages where id = ${probe.id}) as read`;
      let write = true;
      try {
        await tx.savepoint((sp) =>
          sp`insert into realtime.messages (topic, extension, private)
             values (${subTopic}, 'broadcast', true)`
        );
      } catch {
        write = false;
      }
      throw new Rollback({ read: seen.read, write });
    });
  } catch (e) {
    if (e instanceof Rollback) return e.access;
    console.error(
      JSON.stringify({ msg: "realtime: authorization probe failed", error: String(e) }),
    );
  }
  return NO_ACCESS;
}

export function readDenied(subTopic: string): string {
  return `Unauthorized: You do not have permissions to read from this Channel topic: ${subTopic}`;
}

export function writeDenied(subTopic: string): string {
  return `Unauthorized: You do not have permissions to write to this Channel topic: ${subTopic}`;
}
