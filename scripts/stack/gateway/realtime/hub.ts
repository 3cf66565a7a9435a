/**
 * Every channel joined on any socket, by topic, and the presence tracked in each. A private and
 * a public channel with the same topic are different rooms: a message reaches only the channels
 * whose `private` flag matches it, and a private one only if its member may read the topic.
 */
import type { Broadcast } from "./frames.ts";

/** What the hub needs of a joined channel (implemented by the socket session). */
export interface Member {
  readonly subTopic: string;
  readonly isPrivate: boolean;
  readonly presenceKey: string;
  canRead(): boolean;
  deliver(event: string, payload: unknown): void;
}

type PresenceMeta = Record<string, unknown> & { phx_ref: string };
type PresenceMap = Record<string, { metas: PresenceMeta[] }>;

export class Hub {
  #rooms = new Map<string, Set<Member>>();
  #presence = new Map<Member, PresenceMeta>();

  join(member: Member): void {
    const key = roomKey(member.subTopic, member.isPrivate);
    let room = this.#rooms.get(key);
    if (!room) this.#rooms.set(key, room = new Set());
    room.add(member);
  }

  leave(member: Member): void {
    this.untrack(member);
    const key = roomKey(member.subTopic, member.isPrivate);
    const room = this.#rooms.get(key);
    room?.delete(member);
    if (room?.size === 0) this.#rooms.delete(key);
  }

  /** Delivers to every member of the room that may read it, except `from` when given. */
  broadcast(subTopic: string, isPrivate: boolean, message: Broadcast, from?: Member): number {
    let delivered = 0;
    for (const member of this.#rooms.get(roomKey(subTopic, isPrivate)) ?? []) {
      if (member === from || (isPrivate && !member.canRead())) continue;
      member.deliver("broadcast", { type: "broadcast", ...message });
      delivered++;
    }
    return delivered;
  }

  presenceState(member: Member): PresenceMap {
    const state: PresenceMap = {};
    for (const other of this.#rooms.get(roomKey(member.subTopic, member.isPrivate)) ?? []) {
      const meta = this.#presence.get(other);
      if (meta) (state[other.presenceKey] ??= { metas: [] }).metas.push(meta);
    }
    return state;
  }

  track(member: Member, meta: Record<string, unknown>): void {
    const previous = this.#presence.get(member);
    const next = { ...meta, phx_ref: crypto.randomUUID() };
    this.#presence.set(member, next);
    this.#diff(member, { [member.presenceKey]: { metas: [next] } }, presenceOf(member, previous));
  }

  untrack(member: Member): void {
    const previous = this.#presence.get(member);
    if (!previous) return;
    this.#presence.delete(member);
    this.#diff(member, {}, presenceOf(member, previous));
  }

  #diff(member: Member, joins: PresenceMap, leaves: PresenceMap): void {
    for (const other of this.#rooms.get(roomKey(member.subTopic, member.isPrivate)) ?? []) {
      if (member.isPrivate && !other.canRead()) continue;
      other.deliver("presence_diff", { joins, leaves });
    }
  }

  close(): void {
    this.#rooms.clear();
    this.#presence.clear();
  }
}

function roomKey(subTopic: string, isPrivate: boolean): string {
  return `${isPrivate ? "private" : "public"}:${subTopic}`;
}

function presenceOf(member: Member, meta: PresenceMeta | undefined): PresenceMap {
  return meta ? { [member.presenceKey]: { metas: [meta] } } : {};
}
