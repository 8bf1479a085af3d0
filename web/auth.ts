/**
 * Sign-in with the pipeline's Cognito user pool through its hosted UI: the authorization code
 * flow with PKCE, as a public client (no secret exists, so none can leak from the page). Tokens
 * stay in this tab's sessionStorage and are refreshed before they expire.
 */
import type { LiveConfig } from "../catalog/live";

type Auth = NonNullable<LiveConfig["auth"]>;

interface Tokens {
  readonly idToken: string;
  readonly refreshToken?: string;
  /** Epoch ms. */
  readonly expiresAt: number;
}

const TOKENS = "live.tokens";
const VERIFIER = "live.pkce";
const REFRESH_MARGIN_MS = 120_000;

/** Bytes as base64url without padding (PKCE's challenge, AppSync's connection header). */
export const base64Url = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const randomText = (bytes = 32): string => base64Url(crypto.getRandomValues(new Uint8Array(bytes)));

/** Where Cognito sends people back: the app's root, the one address its client allows. */
const redirectUri = (): string => `${location.origin}/`;

export class SignIn {
  private tokens: Tokens | undefined;
  private refreshing: Promise<Tokens | undefined> | undefined;

  constructor(private readonly auth: Auth) {
    const kept = sessionStorage.getItem(TOKENS);
    if (kept) this.tokens = JSON.parse(kept) as Tokens;
  }

  /** Finishes a sign-in when Cognito just sent the browser back with a code; true when signed in. */
  async complete(): Promise<boolean> {
    const params = new URLSearchParams(location.search);
    const code = params.get("code");
    if (code !== null) {
      const expected = sessionStorage.getItem(VERIFIER);
      sessionStorage.removeItem(VERIFIER);
      history.replaceState(null, "", redirectUri());
      const [state, verifier] = (expected ?? "").split(" ");
      if (!verifier || params.get("state") !== state) throw new Error("the sign-in came back without the request this page made; sign in again");
      await this.exchange({ grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: redirectUri() });
    }
    const error = params.get("error_description") ?? params.get("error");
    if (error !== null) throw new Error(`sign-in failed: ${error}`);
    return (await this.idToken()) !== undefined;
  }

  /** Sends the browser to the hosted UI. */
  async start(): Promise<void> {
    const verifier = randomText();
    const state = randomText(16);
    sessionStorage.setItem(VERIFIER, `${state} ${verifier}`);
    const challenge = base64Url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
    const url = new URL("/oauth2/authorize", this.auth.domain);
    url.search = new URLSearchParams({
      response_type: "code",
      client_id: this.auth.clientId,
      redirect_uri: redirectUri(),
      scope: "openid email",
      state,
      code_challenge_method: "S256",
      code_challenge: challenge,
    }).toString();
    location.assign(url.toString());
  }

  signOut(): void {
    sessionStorage.removeItem(TOKENS);
    this.tokens = undefined;
    const url = new URL("/logout", this.auth.domain);
    url.search = new URLSearchParams({ client_id: this.auth.clientId, logout_uri: redirectUri() }).toString();
    location.assign(url.toString());
  }

  /** A valid ID token, refreshed when close to expiry; undefined when the viewer must sign in. */
  async idToken(): Promise<string | undefined> {
    const t = this.tokens;
    if (t === undefined) return undefined;
    if (t.expiresAt - REFRESH_MARGIN_MS > Date.now()) return t.idToken;
    if (t.refreshToken === undefined) return undefined;
    this.refreshing ??= this.exchange({ grant_type: "refresh_token", refresh_token: t.refreshToken }).finally(() => (this.refreshing = undefined));
    return (await this.refreshing)?.idToken;
  }

  private async exchange(form: Record<string, string>): Promise<Tokens | undefined> {
    const response = await fetch(new URL("/oauth2/token", this.auth.domain), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: this.auth.clientId, ...form }).toString(),
    });
    if (!response.ok) {
      this.tokens = undefined;
      sessionStorage.removeItem(TOKENS);
      return undefined;
    }
    const body = (await response.json()) as { id_token: string; refresh_token?: string; expires_in: number };
    this.tokens = { idToken: body.id_token, refreshToken: body.refresh_token ?? this.tokens?.refreshToken, expiresAt: Date.now() + body.expires_in * 1000 };
    sessionStorage.setItem(TOKENS, JSON.stringify(this.tokens));
    return this.tokens;
  }
}
