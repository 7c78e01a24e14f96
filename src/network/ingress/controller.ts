// The built-in ingress controller (https://kubernetes.io/docs/concepts/services-networking/ingress-controllers/),
// in the place k3s puts Traefik: a Runnable in `tug server` that watches Ingresses,
// IngressClasses, Services, EndpointSlices and Secrets through the shared informers,
// rebuilds its routing table and certificate map when they change, and serves HTTP and
// HTTPS (SNI) on the host through the IngressProxy. It runs on every server (serving
// needs no leader; status is written by the leader-only status controller). A port that
// cannot be bound (in use, or <1024 without privileges) is retried in the background so
// it never stops the control plane.

import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { KObject } from "../../apimachinery/types.js";
import type { SharedInformerFactory } from "../../client/sharedinformers.js";
import type { Logger, Runnable } from "../../client/runnable.js";
import { silentLogger } from "../../client/runnable.js";
import { Balancer, resolveBackend, type BackendView } from "./backends.js";
import { IngressProxy, type RouteDecision } from "./proxy.js";
import { buildRouteTable, handlesIngress, INGRESS_CONTROLLER, matchRoute, type RouteTable } from "./rules.js";
import { CertificateStore, type CertKey } from "./tls.js";

export const INGRESSES = "networking.k8s.io/v1/ingresses";
export const INGRESS_CLASSES = "networking.k8s.io/v1/ingressclasses";
const SERVICES = "v1/services";
const SLICES = "discovery.k8s.io/v1/endpointslices";
const SECRETS = "v1/secrets";
const BY_SERVICE = "ingress/serviceName";

export interface IngressControllerOptions {
  informers: SharedInformerFactory;
  /** Bind address (default 0.0.0.0). */
  host?: string;
  /** Default 80 / 443; 0 = any free port (tests). */
  httpPort?: number;
  httpsPort?: number;
  /** The certificate for names without a TLS Secret (and clients without SNI). */
  defaultCertificate?: () => Promise<CertKey>;
  controller?: string;
  log?: Logger;
  bindRetryMs?: number;
}

export class IngressController implements Runnable {
  readonly name = "ingress";
  readonly needsLeader = false;
  private readonly log: Logger;
  private table: RouteTable = buildRouteTable([]);
  private dirty = true;
  private readonly balancer = new Balancer();
  private readonly certs: CertificateStore;
  private readonly view: BackendView;
  private readonly stores;
  private bound: { http?: number; https?: number } = {};
  private boundWaiters: (() => void)[] = [];

  constructor(private readonly opts: IngressControllerOptions) {
    this.log = opts.log ?? silentLogger;
    const inf = opts.informers;
    const serviceName = (s: KObject) => {
      const n = s.metadata.labels?.["kubernetes.io/service-name"];
      return n ? [`${s.metadata.namespace}/${n}`] : [];
    };
    this.stores = {
      ingresses: inf.informerFor(INGRESSES),
      classes: inf.informerFor(INGRESS_CLASSES),
      services: inf.informerFor(SERVICES),
      slices: inf.informerFor(SLICES, { [BY_SERVICE]: serviceName }),
      secrets: inf.informerFor(SECRETS),
    };
    const services = this.stores.services.store;
    const slices = this.stores.slices.store;
    const secrets = this.stores.secrets.store;
    this.view = { service: (ns, n) => services.get(ns, n), slicesFor: (ns, n) => slices.byIndex(BY_SERVICE, `${ns}/${n}`) };
    this.certs = new CertificateStore((ns, n) => {
      const s = secrets.get(ns, n);
      return s && (s.type === undefined || s.type === "kubernetes.io/tls") ? s : undefined;
    }, { log: this.log });
  }

  /** The ports actually bound, once both listeners are up (tests use port 0). */
  async listening(): Promise<{ http: number; https: number }> {
    if (this.bound.http === undefined || this.bound.https === undefined) await new Promise<void>((r) => this.boundWaiters.push(r));
    return { http: this.bound.http!, https: this.bound.https! };
  }

  /** The Ingresses this controller serves, from the cache. */
  handled(): KObject[] {
    const classes = this.stores.classes.store.list();
    const controller = this.opts.controller ?? INGRESS_CONTROLLER;
    return this.stores.ingresses.store.list().filter((i) => !i.metadata.deletionTimestamp && handlesIngress(i, classes, controller));
  }

  private refresh(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const ings = this.handled();
    this.table = buildRouteTable(ings);
    this.certs.update(ings);
  }

  route(host: string | undefined, url: string): RouteDecision {
    this.refresh();
    const r = matchRoute(this.table, host, url);
    if (!r) return { status: 404, message: "404 Not Found: no Ingress rule matches this host and path\n" };
    const b = resolveBackend(this.view, r.backend);
    if (!b.ok) return { status: 503, message: `503 Service Unavailable: ${b.reason}\n` };
    return { targets: this.balancer.order(b.key, b.targets) };
  }

  async start(signal: AbortSignal): Promise<void> {
    const markDirty = { onAdd: () => void (this.dirty = true), onUpdate: () => void (this.dirty = true), onDelete: () => void (this.dirty = true) };
    const regs = [this.stores.ingresses, this.stores.classes, this.stores.secrets].map((i) => i.addEventHandler(markDirty));
    const proxy = new IngressProxy({ router: this, log: this.log });
    const host = this.opts.host ?? "0.0.0.0";
    const http = createHttpServer((req, res) => proxy.handle(req, res, "http"));
    http.on("upgrade", (req, sock, head) => proxy.handleUpgrade(req, sock, head, "http"));
    const servers: (HttpServer | HttpsServer)[] = [http];
    const listeners = [this.listenWithRetry(http, host, this.opts.httpPort ?? 80, "http", signal)];
    let def: CertKey | undefined;
    try {
      def = this.opts.defaultCertificate ? await this.opts.defaultCertificate() : undefined;
    } catch (e) {
      this.log.error("ingress: no default certificate; HTTPS needs an Ingress TLS secret for every name", { error: String(e) });
    }
    if (def) this.certs.setDefault(def);
    const https = createHttpsServer({
      ...(def ? { cert: def.certPem, key: def.keyPem } : {}),
      SNICallback: (name, cb) => {
        this.refresh();
        this.certs.sniCallback(name, cb);
      },
    }, (req, res) => proxy.handle(req, res, "https"));
    https.on("upgrade", (req, sock, head) => proxy.handleUpgrade(req, sock, head, "https"));
    https.on("tlsClientError", () => {});
    servers.push(https);
    listeners.push(this.listenWithRetry(https, host, this.opts.httpsPort ?? 443, "https", signal));
    await Promise.all(listeners);
    if (!signal.aborted) await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
    for (const r of regs) r.remove();
    proxy.close();
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((r) => {
            s.close(() => r());
            s.closeAllConnections();
          }),
      ),
    );
  }

  private async listenWithRetry(server: HttpServer | HttpsServer, host: string, port: number, which: "http" | "https", signal: AbortSignal): Promise<void> {
    let warned = false;
    while (!signal.aborted) {
      try {
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(port, host, () => {
            server.off("error", reject);
            resolve();
          });
        });
        const actual = (server.address() as { port: number }).port;
        this.bound[which] = actual;
        this.log.info(`ingress ${which} listening`, { address: `${host}:${actual}` });
        if (this.bound.http !== undefined && this.bound.https !== undefined) for (const w of this.boundWaiters.splice(0)) w();
        return;
      } catch (e) {
        if (!warned) this.log.error(`ingress: cannot listen for ${which}, retrying in the background`, { address: `${host}:${port}`, error: String((e as Error).message ?? e) });
        warned = true;
        await new Promise<void>((r) => {
          const t = setTimeout(r, this.opts.bindRetryMs ?? 5000);
          signal.addEventListener("abort", () => (clearTimeout(t), r()), { once: true });
        });
      }
    }
  }
}
