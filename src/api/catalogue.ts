// The resource catalogue: every served group/version/resource, gathered from the
// per-group files. Discovery, OpenAPI, routing and the registry all read from here
// (https://kubernetes.io/docs/reference/using-api/#api-groups).

import type { ResourceDef } from "./types.js";
import { apiVersionOf, gvrKey } from "./types.js";
import { coreResources } from "./core.js";
import { appsResources } from "./apps.js";
import { batchResources } from "./batch.js";
import { networkingResources } from "./networking.js";
import { discoveryResources } from "./discovery.js";
import { coordinationResources } from "./coordination.js";
import { autoscalingResources } from "./autoscaling.js";
import { eventsResources } from "./events.js";
import { policyResources } from "./policy.js";
import { schedulingResources } from "./scheduling.js";
import { storageResources } from "./storage.js";

export interface GroupInfo {
  group: string;
  /** Served versions, preferred first. */
  versions: string[];
}

/** Preferred version order within a group (upstream's priority: v2 over v1 for autoscaling). */
const versionRank = (v: string): number => {
  const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
  if (!m) return 0;
  const major = Number(m[1]);
  const stage = m[2] === "alpha" ? 0 : m[2] === "beta" ? 1 : 2;
  return stage * 1000 + major * 10 + (m[3] ? Number(m[3]) / 100 : 0);
};

export class Catalogue {
  private readonly byKey = new Map<string, ResourceDef>();
  private readonly byKindKey = new Map<string, ResourceDef>();
  private readonly groupList: GroupInfo[] = [];

  constructor(readonly defs: ResourceDef[]) {
    const versions = new Map<string, Set<string>>();
    for (const d of defs) {
      this.byKey.set(gvrKey(d), d);
      this.byKindKey.set(`${apiVersionOf(d)}/${d.kind}`, d);
      if (!versions.has(d.group)) versions.set(d.group, new Set());
      versions.get(d.group)!.add(d.version);
    }
    for (const [group, vs] of versions) {
      this.groupList.push({ group, versions: [...vs].sort((a, b) => versionRank(b) - versionRank(a)) });
    }
  }

  /** "apps/v1/deployments" or "v1/pods". */
  get(gvr: string): ResourceDef | undefined {
    return this.byKey.get(gvr);
  }

  lookup(group: string, version: string, plural: string): ResourceDef | undefined {
    return this.byKey.get(group ? `${group}/${version}/${plural}` : `${version}/${plural}`);
  }

  byKind(apiVersion: string, kind: string): ResourceDef | undefined {
    return this.byKindKey.get(`${apiVersion}/${kind}`);
  }

  groups(): GroupInfo[] {
    return this.groupList;
  }

  inGroupVersion(group: string, version: string): ResourceDef[] {
    return this.defs.filter((d) => d.group === group && d.version === version);
  }

  /** The gvr key under which a def's objects are stored (shared storage across versions). */
  storageOf(def: ResourceDef): { group: string; plural: string } {
    return def.storageResource ?? { group: def.group, plural: def.plural };
  }
}

export function builtinCatalogue(): Catalogue {
  return new Catalogue([
    ...coreResources,
    ...appsResources,
    ...batchResources,
    ...networkingResources,
    ...discoveryResources,
    ...coordinationResources,
    ...autoscalingResources,
    ...eventsResources,
    ...policyResources,
    ...schedulingResources,
    ...storageResources,
  ]);
}
