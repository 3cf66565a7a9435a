/** /realtime/v1/websocket: Phoenix channels, broadcast, private channels. (Being written.) */
import type { GatewayContext } from "./context.ts";
import { json } from "./http.ts";

export interface RealtimeService {
  handle(req: Request): Response | Promise<Response>;
  close(): Promise<void>;
}

export function createRealtime(_ctx: GatewayContext): Promise<RealtimeService> {
  return Promise.resolve({
    handle: () => json({ message: "not implemented" }, 501),
    close: () => Promise.resolve(),
  });
}
