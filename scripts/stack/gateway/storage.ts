/** /storage/v1: buckets, objects, TUS uploads, signed URLs. (Being written.) */
import type { GatewayContext } from "./context.ts";
import { json } from "./http.ts";

export interface StorageService {
  handle(req: Request, path: string): Promise<Response>;
  close(): Promise<void>;
}

export function createStorage(_ctx: GatewayContext): StorageService {
  return {
    handle: () => Promise.resolve(json({ message: "not implemented" }, 501)),
    close: () => Promise.resolve(),
  };
}
