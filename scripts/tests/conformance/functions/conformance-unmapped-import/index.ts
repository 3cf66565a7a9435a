// Test-only function (served by the test stack): imports a package its own deno.json does not
// map. The root deno.json maps it, so it boots only where a function is run with the root's map
// instead of its own, as `supabase functions deploy` never does; the stack must answer
// 503 BOOT_ERROR, as the hosted platform answers a function that cannot start.
import { z } from "zod";

Deno.serve(() => Response.json({ booted: z.string().parse("with a map it does not carry") }));
