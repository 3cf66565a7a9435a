import { defineConfig } from "vite";

// Served by the stack's gateway at `/`, or by any static host in any folder: asset URLs are
// relative, and every route is index.html itself (share links are `?job=<id>#token=…`).
export default defineConfig({
  base: "./",
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
  // Workers are ES modules: the hash worker imports the SHA-256 module, and ffmpeg.wasm's worker
  // import()s its core from web/dist at run time (both loaded only when a file is submitted).
  worker: { format: "es" },
  // The caption document schema lives with the server (supabase/functions/_shared/subtitles) and
  // imports zod from outside this folder: resolve it from this app's node_modules.
  resolve: { dedupe: ["zod"] },
  // ffmpeg.wasm finds its worker relative to its own module; pre-bundling (dev server) would
  // move the module away from the worker file.
  optimizeDeps: { exclude: ["@ffmpeg/ffmpeg"] },
});
