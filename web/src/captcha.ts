/**
 * CAPTCHA for the anonymous sign-in on a hosted project (`[auth.captcha]` in
 * supabase/config.toml, or the dashboard): when the site's config.json names a provider and
 * its site key (`"captcha": {"provider": "hcaptcha" | "turnstile", "siteKey": "…"}`,
 * app_config.ts), the provider's widget is shown once before the first sign-in and its token
 * goes with it (`signInAnonymously({ options: { captchaToken } })`). Without it nothing is
 * loaded.
 */

type Provider = "hcaptcha" | "turnstile";

interface Widget {
  render(container: HTMLElement, options: Record<string, unknown>): unknown;
}

const SCRIPTS: Record<Provider, { url: string; global: "hcaptcha" | "turnstile" }> = {
  hcaptcha: { url: "https://js.hcaptcha.com/1/api.js?render=explicit", global: "hcaptcha" },
  turnstile: {
    url: "https://challenges.cloudflare.com/turnstile/v0/api.js?render=explicit",
    global: "turnstile",
  },
};

function loadScript(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = url;
    script.async = true;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error("The CAPTCHA could not be loaded."));
    document.head.append(script);
  });
}

/** Shows the widget in `#captcha` and resolves with the token once the visitor passed it. */
export async function captchaToken(config: { provider: Provider; siteKey: string }) {
  const { url, global } = SCRIPTS[config.provider];
  await loadScript(url);
  const widget = (window as unknown as Record<string, Widget | undefined>)[global];
  if (!widget) throw new Error("The CAPTCHA could not be loaded.");
  const container = document.getElementById("captcha") ?? document.body;
  container.hidden = false;
  return await new Promise<string>((resolve, reject) => {
    widget.render(container, {
      sitekey: config.siteKey,
      callback: (token: string) => {
        container.hidden = true;
        resolve(token);
      },
      "error-callback": () => reject(new Error("The CAPTCHA check failed; reload to try again.")),
    });
  });
}
