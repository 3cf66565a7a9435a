// What the app reads from the build environment. Vite's own client types come from tsconfig.json
// ("types": ["vite/client"]) for the web build's tsc; `deno check` knows only this file.
interface ImportMetaEnv {
  readonly VITE_SUPABASE_URL?: string;
  readonly VITE_SUPABASE_PUBLISHABLE_KEY?: string;
  readonly VITE_CAPTCHA_PROVIDER?: string;
  readonly VITE_CAPTCHA_SITE_KEY?: string;
}
interface ImportMeta {
  readonly env: ImportMetaEnv;
}
