import { cleanupHandler } from "./cleanup.ts";

Deno.serve(cleanupHandler());
