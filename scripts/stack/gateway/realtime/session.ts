/**
 * One Realtime websocket: the Phoenix channels joined on it and what each may do. Frames are
 * handled strictly in arrival order (a join's authorization finishes before the broadcast the
 * client pushed right after it), replies follow Supabase Realtime's shapes.
 */
import { z } from "zod";
import type { GatewayContext } from "../context.ts";
import type { Caller } from "../request_role.ts";
import {
  NO_ACCESS,
  probeTopicAccess,
  readDenied,
  type TopicAccess,
  writeDenied,
} from "./authorization.ts";
import { decodeFrame, encodeFrame, type Frame, type Vsn } from "./frames.ts";
import type { Hub, Member } from "./hub.ts";
import { callerFromToken, msUntilExpiry } from "./tokens.ts";

const TOPIC_PREFIX = "realtime:";

const JoinPayload = z.looseObject({
  config: z.looseObject({
    broadcast: z.looseObject({ self: z.boolean().optional(), ack: z.boolean().optional() })
      .optional(),
    presence: z.looseObject({ key: z.string().optional(), enabled: z.boolean().optional() })
      .optional(),
    postgres_changes: z.array(z.looseObject({})).optional(),
    private: z.boolean().optional(),
  }).optional(),
  access_token: z.string().optional(),
});

const UserPush = z.looseObject({
  type: z.string().optional(),
  event: z.string(),
  payload: z.unknown(),
});

class Channel implements Member {
  readonly subTopic: string;
  access: TopicAccess = NO_ACCESS;
  expiry: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly session: PhoenixSession,
    readonly topic: string,
    readonly joinRef: string | null,
    readonly isPrivate: boolean,
    readonly self: boolean,
    readonly ack: boolean,
    readonly presenceKey: string,
    public caller: Caller,
  ) {
    this.subTopic = topic.slice(TOPIC_PREFIX.length);
  }

  canRead(): boolean {
    return !this.isPrivate || this.access.read;
  }

  canWrite(): boolean {
    return !this.isPrivate || this.access.write;
  }

  deliver(event: string, payload: unknown): void {
    this.session.send({ joinRef: this.joinRef, ref: null, topic: this.topic, event, payload });
  }
}

export class PhoenixSession {
  readonly #channels = new Map<string, Channel>();
  #queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: GatewayContext,
    private readonly hub: Hub,
    private readonly socket: WebSocket,
    private readonly vsn: Vsn,
    private readonly socketCaller: Caller,
  ) {
    socket.binaryType = "arraybuffer";
    socket.onmessage = (e) => this.#receive(e.data);
    socket.onclose = () => this.close();
    socket.onerror = () => {};
  }

  send(frame: Frame): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    const data = encodeFrame(this.vsn, frame);
    if (data !== null) this.socket.send(data);
  }

  close(): void {
    for (const channel of [...this.#channels.values()]) this.#remove(channel);
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close(1001, "server shutting down");
  }

  #receive(data: string | ArrayBuffer): void {
    let frame: Frame;
    try {
      frame = decodeFrame(this.vsn, data);
    } catch (e) {
      console.error(JSON.stringify({ msg: "realtime: bad frame", error: String(e) }));
      return;
    }
    this.#queue = this.#queue.then(() => this.#handle(frame)).catch((e) => {
      console.error(JSON.stringify({ msg: "realtime: frame failed", error: String(e) }));
    });
  }

  #reply(frame: Frame, status: "ok" | "error", response: Record<string, unknown>): void {
    this.send({ ...frame, event: "phx_reply", payload: { status, response } });
  }

  async #handle(frame: Frame): Promise<void> {
    if (frame.topic === "phoenix") {
      if (frame.event === "heartbeat") this.#reply(frame, "ok", {});
      return;
    }
    if (frame.event === "phx_join") return await this.#join(frame);
    const channel = this.#channels.get(frame.topic);
    if (!channel) return this.#reply(frame, "error", { reason: "unmatched topic" });
    switch (frame.event) {
      case "phx_leave":
        this.#remove(channel);
        return this.#reply(frame, "ok", {});
      case "broadcast":
        return this.#broadcast(channel, frame);
      case "presence":
        return this.#presence(channel, frame);
      case "access_token":
        return await this.#refreshToken(channel, frame);
    }
  }

  async #join(frame: Frame): Promise<void> {
    const previous = this.#channels.get(frame.topic);
    if (previous) this.#remove(previous);
    if (!frame.topic.startsWith(TOPIC_PREFIX)) {
      return this.#reply(frame, "error", { reason: "unmatched topic" });
    }
    const parsed = JoinPayload.safeParse(frame.payload);
    if (!parsed.success) return this.#reply(frame, "error", { reason: "malformed join payload" });
    const { config = {}, access_token } = parsed.data;
    const check = access_token
      ? await callerFromToken(this.ctx, access_token)
      : { caller: this.socketCaller };
    if ("error" in check) return this.#reply(frame, "error", { reason: check.error });

    const channel = new Channel(
      this,
      frame.topic,
      frame.joinRef ?? frame.ref,
      config.private === true,
      config.broadcast?.self === true,
      config.broadcast?.ack === true,
      config.presence?.key || crypto.randomUUID(),
      check.caller,
    );
    if (channel.isPrivate) {
      channel.access = await probeTopicAccess(this.ctx, channel.caller, channel.subTopic);
      if (!channel.access.read) {
        return this.#reply(frame, "error", { reason: readDenied(channel.subTopic) });
      }
    }
    this.#channels.set(frame.topic, channel);
    this.hub.join(channel);
    this.#watchExpiry(channel);

    // postgres_changes is acknowledged (so realtime-js reports SUBSCRIBED) but never delivered.
    const postgresChanges = (config.postgres_changes ?? []).map((binding) => ({
      ...binding,
      id: Math.floor(Math.random() * 2 ** 31),
    }));
    this.#reply(frame, "ok", { postgres_changes: postgresChanges });
    if (config.presence?.enabled) {
      channel.deliver("presence_state", this.hub.presenceState(channel));
    }
    if (postgresChanges.length > 0) {
      channel.deliver("system", {
        message: "Subscribed to PostgreSQL",
        status: "ok",
        extension: "postgres_changes",
        channel: channel.subTopic,
      });
    }
  }

  #broadcast(channel: Channel, frame: Frame): void {
    const push = UserPush.safeParse(frame.payload);
    if (!push.success) return;
    if (!channel.canWrite()) {
      if (channel.ack) this.#reply(frame, "error", { reason: writeDenied(channel.subTopic) });
      return;
    }
    const { event, payload } = push.data;
    this.hub.broadcast(
      channel.subTopic,
      channel.isPrivate,
      { event, payload },
      channel.self ? undefined : channel,
    );
    if (channel.ack) this.#reply(frame, "ok", {});
  }

  #presence(channel: Channel, frame: Frame): void {
    const push = UserPush.safeParse(frame.payload);
    if (!push.success) return this.#reply(frame, "error", { reason: "malformed presence" });
    if (!channel.canWrite()) {
      return this.#reply(frame, "error", { reason: writeDenied(channel.subTopic) });
    }
    if (push.data.event === "track") {
      this.hub.track(channel, (push.data.payload ?? {}) as Record<string, unknown>);
    } else if (push.data.event === "untrack") {
      this.hub.untrack(channel);
    }
    this.#reply(frame, "ok", {});
  }

  async #refreshToken(channel: Channel, frame: Frame): Promise<void> {
    const token = (frame.payload as { access_token?: unknown }).access_token;
    if (typeof token !== "string" || token === channel.caller.token) return;
    const check = await callerFromToken(this.ctx, token);
    if ("error" in check) return this.#shutdown(channel, check.error);
    channel.caller = check.caller;
    if (channel.isPrivate) {
      channel.access = await probeTopicAccess(this.ctx, channel.caller, channel.subTopic);
      if (!channel.access.read) return this.#shutdown(channel, readDenied(channel.subTopic));
    }
    this.#watchExpiry(channel);
  }

  /** Closes a channel the way Supabase Realtime does: a system error, then phx_close. */
  #shutdown(channel: Channel, message: string): void {
    if (this.#channels.get(channel.topic) !== channel) return;
    channel.deliver("system", {
      message,
      status: "error",
      extension: "system",
      channel: channel.subTopic,
    });
    channel.deliver("phx_close", {});
    this.#remove(channel);
  }

  #watchExpiry(channel: Channel): void {
    clearTimeout(channel.expiry);
    const ms = msUntilExpiry(channel.caller);
    if (ms === null) return;
    channel.expiry = setTimeout(() => {
      const seconds = Math.max(0, Math.floor(Date.now() / 1000) - (channel.caller.claims.exp ?? 0));
      this.#shutdown(channel, `Token has expired ${seconds} seconds ago`);
    }, ms + 50);
  }

  #remove(channel: Channel): void {
    clearTimeout(channel.expiry);
    this.hub.leave(channel);
    if (this.#channels.get(channel.topic) === channel) this.#channels.delete(channel.topic);
  }
}
