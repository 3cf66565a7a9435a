/** /rest/v1: the PostgREST subset supabase-js relies on. (Being written.) */
import type { GatewayContext } from "./context.ts";
import { json } from "./http.ts";

export function handleRest(_req: Request, _ctx: GatewayContext, _path: string): Promise<Response> {
  return Promise.resolve(json({ message: "not implemented" }, 501));
}
