// The kubelet's service-account token manager for projected `serviceAccountToken`
// sources (https://kubernetes.io/docs/concepts/storage/projected-volumes/#serviceaccounttoken
// and https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#bound-service-account-token-volume):
// tokens come from the TokenRequest subresource, bound to the pod, and are cached per
// (pod, account, audience, lifetime). A token is renewed once 80% of its lifetime has
// passed or it is older than 24 h, as upstream does; if renewal fails while the old
// token is still valid, the old one stays in the file and the error is only logged.

import type { Client } from "../../../client/types.js";
import type { Logger } from "../../../client/runnable.js";

export const DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600;
export const MIN_TOKEN_EXPIRATION_SECONDS = 600;
const MAX_TOKEN_AGE_MS = 24 * 3600_000;

interface CachedToken {
  token: string;
  issuedAt: number;
  expiresAt: number;
}

export interface TokenSpec {
  podNamespace: string;
  podName: string;
  podUID: string;
  serviceAccountName: string;
  /** "" = the API server's own audience. */
  audience: string;
  expirationSeconds: number;
}

export class ServiceAccountTokenCache {
  private readonly tokens = new Map<string, CachedToken>();

  constructor(
    private readonly client: Client,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  private key(s: TokenSpec): string {
    return JSON.stringify([s.podUID, s.serviceAccountName, s.audience, s.expirationSeconds]);
  }

  /** True when the cached token must be renewed now. */
  static needsRefresh(t: CachedToken, now: number): boolean {
    if (now >= t.expiresAt) return true;
    const ttl = t.expiresAt - t.issuedAt;
    return now >= t.issuedAt + ttl * 0.8 || now >= t.issuedAt + MAX_TOKEN_AGE_MS;
  }

  /** A valid token for the spec: the cached one, or a fresh one when due for renewal. */
  async get(s: TokenSpec): Promise<string> {
    const k = this.key(s);
    const cached = this.tokens.get(k);
    const now = this.now();
    if (cached && !ServiceAccountTokenCache.needsRefresh(cached, now)) return cached.token;
    try {
      const tr: any = await this.client.createSubresource("v1/serviceaccounts", s.podNamespace, s.serviceAccountName, "token", {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        metadata: { name: s.serviceAccountName, namespace: s.podNamespace },
        spec: {
          ...(s.audience ? { audiences: [s.audience] } : {}),
          expirationSeconds: s.expirationSeconds,
          boundObjectRef: { kind: "Pod", apiVersion: "v1", name: s.podName, uid: s.podUID },
        },
      });
      const token = tr?.status?.token;
      if (typeof token !== "string" || !token) throw new Error("TokenRequest returned no token");
      const exp = Date.parse(tr.status.expirationTimestamp);
      const fresh = { token, issuedAt: now, expiresAt: Number.isFinite(exp) ? exp : now + s.expirationSeconds * 1000 };
      this.tokens.set(k, fresh);
      return token;
    } catch (e) {
      if (cached && now < cached.expiresAt) {
        this.log.error("service account token renewal failed; keeping the current token", { pod: `${s.podNamespace}/${s.podName}`, error: String((e as Error).message ?? e) });
        return cached.token;
      }
      throw e;
    }
  }

  /** Drops every token of a pod (on tear-down). */
  forget(podUID: string): void {
    for (const k of [...this.tokens.keys()]) if (JSON.parse(k)[0] === podUID) this.tokens.delete(k);
  }

  get size(): number {
    return this.tokens.size;
  }
}
