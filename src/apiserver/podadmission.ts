// Admission plugins for pods (https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/):
// - ServiceAccount: spec.serviceAccountName defaults to "default".
// - DefaultTolerationSeconds: every pod tolerates node.kubernetes.io/not-ready and
//   unreachable (NoExecute) for a bounded time, so pods on a lost node are evicted and
//   replaced. Tugboat's default is 30 s (upstream 300 s) so that, with the 20 s node
//   monitor grace period, a lost node's pods run elsewhere within a minute
//   (--default-not-ready-toleration-seconds, --default-unreachable-toleration-seconds).
// - Priority: spec.priority from spec.priorityClassName (or the global default class),
//   with the built-in system-cluster-critical / system-node-critical classes.

import { Forbidden } from "../apimachinery/errors.js";
import type { KObject } from "../apimachinery/types.js";
import type { AdmissionPlugin } from "./admission.js";

export const DEFAULT_TOLERATION_SECONDS = 30;

const builtinPriorities: Record<string, number> = {
  "system-node-critical": 2000001000,
  "system-cluster-critical": 2000000000,
};

function isPodCreate(req: { operation: string; def: { group: string; plural: string }; subresource?: string }): boolean {
  return req.operation === "create" && req.def.group === "" && req.def.plural === "pods" && !req.subresource;
}

export function serviceAccountAdmission(): AdmissionPlugin {
  return {
    name: "ServiceAccount",
    admit(req) {
      if (!isPodCreate(req)) return;
      const spec = req.object.spec;
      if (spec && typeof spec === "object" && !spec.serviceAccountName) spec.serviceAccountName = spec.serviceAccount || "default";
    },
  };
}

/**
 * `seconds` is one value for both taints or, like upstream's
 * --default-not-ready-toleration-seconds / --default-unreachable-toleration-seconds, one each.
 */
export function defaultTolerationSecondsAdmission(seconds: number | { notReady?: number; unreachable?: number } = DEFAULT_TOLERATION_SECONDS): AdmissionPlugin {
  const each = typeof seconds === "number" ? { notReady: seconds, unreachable: seconds } : seconds;
  const keys: [string, number][] = [
    ["node.kubernetes.io/not-ready", each.notReady ?? DEFAULT_TOLERATION_SECONDS],
    ["node.kubernetes.io/unreachable", each.unreachable ?? DEFAULT_TOLERATION_SECONDS],
  ];
  return {
    name: "DefaultTolerationSeconds",
    admit(req) {
      if (!isPodCreate(req)) return;
      const spec = req.object.spec;
      if (!spec || typeof spec !== "object") return;
      const tolerations: any[] = Array.isArray(spec.tolerations) ? spec.tolerations : [];
      for (const [key, tolerationSeconds] of keys) {
        const covered = tolerations.some(
          (t) => (t.key === key || (t.key === undefined && t.operator === "Exists")) && (!t.effect || t.effect === "NoExecute"),
        );
        if (!covered) tolerations.push({ key, operator: "Exists", effect: "NoExecute", tolerationSeconds });
      }
      spec.tolerations = tolerations;
    },
  };
}

/** Looks priority classes up through the registry (name → object, or the global default). */
export interface PriorityClassLookup {
  get(name: string): Promise<KObject | undefined>;
  globalDefault(): Promise<KObject | undefined>;
}

export function priorityAdmission(lookup: PriorityClassLookup): AdmissionPlugin {
  return {
    name: "Priority",
    async admit(req) {
      if (!isPodCreate(req)) return;
      const spec = req.object.spec;
      if (!spec || typeof spec !== "object") return;
      const name: string | undefined = spec.priorityClassName;
      let pc: KObject | undefined;
      if (name) {
        if (name in builtinPriorities) {
          spec.priority = builtinPriorities[name];
          spec.preemptionPolicy ??= "PreemptLowerPriority";
          return;
        }
        pc = await lookup.get(name);
        if (!pc) throw new Forbidden(`pods "${req.name}" is forbidden: no PriorityClass with name ${name} was found`);
      } else {
        pc = await lookup.globalDefault();
        if (pc) spec.priorityClassName = pc.metadata.name;
      }
      const value = typeof pc?.value === "number" ? pc.value : 0;
      if (spec.priority !== undefined && spec.priority !== value) {
        throw new Forbidden(`pods "${req.name}" is forbidden: the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${value} from the given PriorityClass name`);
      }
      spec.priority = value;
      spec.preemptionPolicy ??= pc?.preemptionPolicy ?? "PreemptLowerPriority";
    },
  };
}
