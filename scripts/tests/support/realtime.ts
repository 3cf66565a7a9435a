/** Realtime helpers the suites share. */
import type { RealtimeChannel } from "@supabase/supabase-js";

/** Resolves with the first subscribe status realtime-js reports for the channel. */
export function subscribeStatus(channel: RealtimeChannel): Promise<string> {
  return new Promise((resolve) => {
    let first = true;
    channel.subscribe((status) => {
      if (first) resolve(status);
      first = false;
    }, 5000);
  });
}
