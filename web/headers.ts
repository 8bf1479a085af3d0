/**
 * The live app's security headers: one definition for CloudFront's response headers policy and
 * the local server, so the page is tested under the policy it is deployed with.
 */

/** Where the page may connect to besides its own origin: the push channel and the sign-in service. */
export interface PageOrigins {
  /** Origins the page fetches from or opens WebSockets to (`https://…`, `wss://…`, `ws://127.0.0.1:…`). */
  readonly connect: readonly string[];
  /** The sign-in service's origin, where the page sends people to sign in; none locally. */
  readonly signIn?: string;
}

/**
 * The content security policy: scripts and styles only from the page's origin (no inline code,
 * no eval), data only from the listed origins, never framed.
 */
export function contentSecurityPolicy(origins: PageOrigins): string {
  const connect = ["'self'", ...origins.connect, ...(origins.signIn === undefined ? [] : [origins.signIn])];
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src ${connect.join(" ")}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    `form-action ${origins.signIn ?? "'none'"}`,
    "frame-ancestors 'none'",
  ].join("; ");
}

/** Every security header the page is served with, by name (CloudFront sets HSTS only over HTTPS). */
export function securityHeaders(origins: PageOrigins): Record<string, string> {
  return {
    "content-security-policy": contentSecurityPolicy(origins),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "strict-transport-security": "max-age=31536000; includeSubDomains",
  };
}
