import { defineConfig } from "vite";

// Served by the stack's gateway at `/` of the same origin as the Supabase APIs.
export default defineConfig({
  base: "/",
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
});
