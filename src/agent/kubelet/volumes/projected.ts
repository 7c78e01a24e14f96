// projected volumes (https://kubernetes.io/docs/concepts/storage/projected-volumes/):
// several sources — configMap, secret, downwardAPI, serviceAccountToken — written into
// one directory through the atomic writer, with the volume's defaultMode (0644) unless
// an item sets its own. The default service-account volume (kube-api-access-*) is one:
// a token, the cluster CA from the kube-root-ca.crt ConfigMap, and the namespace. Like
// secret volumes it lives on a tmpfs because it holds credentials.

import { writeAtomically } from "./atomicwriter.js";
import { configMapPayload, DEFAULT_FILE_MODE, fsGroupOf } from "./configmap.js";
import { downwardAPIPayload } from "./downwardapi.js";
import { memoryBacked, secretPayload } from "./secret.js";
import { DEFAULT_TOKEN_EXPIRATION_SECONDS, MIN_TOKEN_EXPIRATION_SECONDS } from "./serviceaccounttoken.js";
import { fileMode, PLUGIN_DIRS, VolumeSetupError, type Payload, type PreparedVolume, type VolumeContext } from "./types.js";

async function tokenPayload(ctx: VolumeContext, volume: string, src: any, mode: number): Promise<Payload> {
  const path = String(src.path ?? "");
  if (!path) throw new VolumeSetupError(volume, "serviceAccountToken.path: Required value");
  const exp = src.expirationSeconds ?? DEFAULT_TOKEN_EXPIRATION_SECONDS;
  if (typeof exp !== "number" || !Number.isInteger(exp) || exp < MIN_TOKEN_EXPIRATION_SECONDS) {
    throw new VolumeSetupError(volume, `serviceAccountToken.expirationSeconds: Invalid value: ${JSON.stringify(exp)}: may not specify a duration less than 10 minutes`);
  }
  const md = ctx.pod.metadata;
  let token: string;
  try {
    token = await ctx.tokens.get({
      podNamespace: md.namespace ?? "default",
      podName: md.name ?? "",
      podUID: md.uid ?? "",
      serviceAccountName: ctx.pod.spec?.serviceAccountName || "default",
      audience: typeof src.audience === "string" ? src.audience : "",
      expirationSeconds: exp,
    });
  } catch (e) {
    throw new VolumeSetupError(volume, `failed to fetch token: ${String((e as Error).message ?? e)}`);
  }
  return new Map([[path, { data: Buffer.from(token, "utf8"), mode }]]);
}

export async function projectedPayload(ctx: VolumeContext, volume: string, src: any): Promise<Payload> {
  const defaultMode = fileMode(src.defaultMode, DEFAULT_FILE_MODE, volume, "projected.defaultMode");
  const out: Payload = new Map();
  for (const s of Array.isArray(src.sources) ? src.sources : []) {
    let part: Payload;
    if (s?.configMap) part = await configMapPayload(ctx, volume, s.configMap, defaultMode);
    else if (s?.secret) part = await secretPayload(ctx, volume, String(s.secret.name ?? ""), s.secret, defaultMode);
    else if (s?.downwardAPI) part = downwardAPIPayload(ctx.pod, volume, s.downwardAPI, defaultMode);
    else if (s?.serviceAccountToken) part = await tokenPayload(ctx, volume, s.serviceAccountToken, defaultMode);
    else throw new VolumeSetupError(volume, `projected source ${JSON.stringify(Object.keys(s ?? {}))} is not supported`);
    for (const [p, f] of part) {
      if (out.has(p)) throw new VolumeSetupError(volume, `conflicting projected path ${JSON.stringify(p)}`);
      out.set(p, f);
    }
  }
  return out;
}

export async function setUpProjected(ctx: VolumeContext, volume: any): Promise<PreparedVolume> {
  const payload = await projectedPayload(ctx, volume.name, volume.projected ?? {});
  const dir = ctx.dirFor(PLUGIN_DIRS.projected, volume.name);
  await memoryBacked(ctx, dir);
  await writeAtomically(dir, payload, { gid: fsGroupOf(ctx) });
  return { path: dir, readOnly: true };
}
