// API discovery (https://kubernetes.io/docs/concepts/overview/kubernetes-api/#discovery-api):
// the legacy documents (APIVersions, APIGroupList, APIGroup, APIResourceList) and the
// aggregated APIGroupDiscoveryList (apidiscovery.k8s.io v2 and v2beta1), chosen by the
// Accept header. Clients recognise aggregated discovery only by the response
// Content-Type, so it must name a version the client offered.

import type { Catalogue } from "../api/catalogue.js";
import type { ResourceDef, SubresourceName } from "../api/types.js";

const standardVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

const subresourceVerbs: Record<SubresourceName, string[]> = {
  status: ["get", "patch", "update"],
  scale: ["get", "patch", "update"],
  binding: ["create"],
  eviction: ["create"],
  log: ["get"],
  exec: ["create", "get"],
  attach: ["create", "get"],
  portforward: ["create", "get"],
  proxy: ["create", "delete", "get", "patch", "update"],
  ephemeralcontainers: ["get", "patch", "update"],
  approval: ["get", "patch", "update"],
  finalize: ["update"],
  token: ["create"],
};

function subresourceKind(def: ResourceDef, sub: SubresourceName): { group: string; version: string; kind: string } {
  switch (sub) {
    case "scale":
      return { group: "autoscaling", version: "v1", kind: "Scale" };
    case "binding":
      return { group: "", version: "v1", kind: "Binding" };
    case "token":
      return { group: "authentication.k8s.io", version: "v1", kind: "TokenRequest" };
    case "eviction":
      return { group: "policy", version: "v1", kind: "Eviction" };
    case "exec":
      return { group: "", version: "v1", kind: "PodExecOptions" };
    case "attach":
      return { group: "", version: "v1", kind: "PodAttachOptions" };
    case "portforward":
      return { group: "", version: "v1", kind: "PodPortForwardOptions" };
    case "proxy":
      return { group: "", version: "v1", kind: def.kind === "Pod" ? "PodProxyOptions" : def.kind === "Node" ? "NodeProxyOptions" : "ServiceProxyOptions" };
    default:
      return { group: def.group, version: def.version, kind: def.kind };
  }
}

export type DiscoveryVersion = "v2" | "v2beta1";

/** Which aggregated discovery version (if any) the Accept header asks for, in its order. */
export function aggregatedDiscoveryVersion(accept: string | undefined): DiscoveryVersion | undefined {
  if (!accept) return undefined;
  for (const clause of accept.split(",")) {
    const p = clause.split(";").map((s) => s.trim());
    const g = p.find((x) => x.startsWith("g="))?.slice(2);
    const v = p.find((x) => x.startsWith("v="))?.slice(2);
    const as = p.find((x) => x.startsWith("as="))?.slice(3);
    if (g === "apidiscovery.k8s.io" && as === "APIGroupDiscoveryList" && (v === "v2" || v === "v2beta1")) return v;
    if (p[0] === "application/json" && !g) return undefined;
  }
  return undefined;
}

export function aggregatedContentType(v: DiscoveryVersion): string {
  return `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`;
}

export class Discovery {
  constructor(
    private readonly catalogue: Catalogue,
    /** Extra groups served outside the catalogue (e.g. metrics.k8s.io). */
    private readonly extraGroups: { group: string; version: string; resources: object[]; aggregated: object[] }[] = [],
  ) {}

  apiVersions(serverAddress: string): object {
    return {
      kind: "APIVersions",
      versions: ["v1"],
      serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
    };
  }

  private groupEntry(group: string, versions: string[]): object {
    return {
      name: group,
      versions: versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v })),
      preferredVersion: { groupVersion: `${group}/${versions[0]}`, version: versions[0] },
    };
  }

  apiGroupList(): object {
    const groups = this.catalogue
      .groups()
      .filter((g) => g.group !== "")
      .map((g) => this.groupEntry(g.group, g.versions));
    for (const e of this.extraGroups) groups.push(this.groupEntry(e.group, [e.version]));
    return { kind: "APIGroupList", apiVersion: "v1", groups };
  }

  apiGroup(group: string): object | undefined {
    const g = this.catalogue.groups().find((x) => x.group === group && group !== "");
    if (g) return { kind: "APIGroup", apiVersion: "v1", ...this.groupEntry(g.group, g.versions) };
    const e = this.extraGroups.find((x) => x.group === group);
    return e ? { kind: "APIGroup", apiVersion: "v1", ...this.groupEntry(e.group, [e.version]) } : undefined;
  }

  resourceList(group: string, version: string): object | undefined {
    const defs = this.catalogue.inGroupVersion(group, version);
    const extra = this.extraGroups.find((x) => x.group === group && x.version === version);
    if (!defs.length && !extra) return undefined;
    const resources: object[] = [];
    for (const d of defs) {
      resources.push({
        name: d.plural,
        singularName: d.singular,
        namespaced: d.namespaced,
        kind: d.kind,
        verbs: d.verbs ?? standardVerbs,
        ...(d.shortNames?.length ? { shortNames: d.shortNames } : {}),
        ...(d.categories?.length ? { categories: d.categories } : {}),
      });
      for (const s of d.subresources ?? []) {
        const rk = subresourceKind(d, s);
        resources.push({
          name: `${d.plural}/${s}`,
          singularName: "",
          namespaced: d.namespaced,
          ...(rk.group !== d.group || rk.version !== d.version ? { group: rk.group, version: rk.version } : {}),
          kind: rk.kind,
          verbs: subresourceVerbs[s],
        });
      }
    }
    if (extra) resources.push(...extra.resources);
    return { kind: "APIResourceList", apiVersion: "v1", groupVersion: group ? `${group}/${version}` : version, resources };
  }

  private aggregatedResource(d: ResourceDef): object {
    return {
      resource: d.plural,
      responseKind: { group: d.group, version: d.version, kind: d.kind },
      scope: d.namespaced ? "Namespaced" : "Cluster",
      singularResource: d.singular,
      verbs: d.verbs ?? standardVerbs,
      ...(d.shortNames?.length ? { shortNames: d.shortNames } : {}),
      ...(d.categories?.length ? { categories: d.categories } : {}),
      ...(d.subresources?.length
        ? {
            subresources: d.subresources.map((s) => ({
              subresource: s,
              responseKind: subresourceKind(d, s),
              verbs: subresourceVerbs[s],
            })),
          }
        : {}),
    };
  }

  /** /api (core only) or /apis (every named group) as an APIGroupDiscoveryList. */
  aggregated(v: DiscoveryVersion, legacy: boolean): object {
    const items: object[] = [];
    for (const g of this.catalogue.groups()) {
      if ((g.group === "") !== legacy) continue;
      items.push({
        metadata: { name: g.group, creationTimestamp: null },
        versions: g.versions.map((ver) => ({
          version: ver,
          resources: this.catalogue.inGroupVersion(g.group, ver).map((d) => this.aggregatedResource(d)),
          freshness: "Current",
        })),
      });
    }
    if (!legacy) {
      for (const e of this.extraGroups) {
        items.push({
          metadata: { name: e.group, creationTimestamp: null },
          versions: [{ version: e.version, resources: e.aggregated, freshness: "Current" }],
        });
      }
    }
    return { kind: "APIGroupDiscoveryList", apiVersion: `apidiscovery.k8s.io/${v}`, metadata: {}, items };
  }
}
