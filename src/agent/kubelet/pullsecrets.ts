// Registry credentials from a pod's imagePullSecrets
// (https://kubernetes.io/docs/concepts/containers/images/#specifying-imagepullsecrets-on-a-pod):
// Secrets of type kubernetes.io/dockerconfigjson (".dockerconfigjson": {"auths": {…}})
// or kubernetes.io/dockercfg (".dockercfg": {…}); the entry whose registry matches the
// image's registry host becomes the CRI AuthConfig of the pull. Missing secrets are
// skipped, as the kubelet does (it only logs them).

import type { KObject } from "../../apimachinery/types.js";
import type { Client } from "../../client/types.js";
import type { ImageAuth } from "../runtime/types.js";

const DOCKER_HUB = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

/** Registry host of an image reference ("busybox" → docker.io, "localhost:5000/x" → localhost:5000). */
export function registryHost(image: string): string {
  const first = image.split("/")[0] ?? "";
  if (image.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost")) return first;
  return "docker.io";
}

function normalizeKey(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, "").split("/")[0] ?? "";
  return DOCKER_HUB.has(host) ? "docker.io" : host;
}

function entries(secret: KObject): Record<string, any> {
  const data = (secret as any).data ?? {};
  try {
    if (data[".dockerconfigjson"]) return JSON.parse(Buffer.from(data[".dockerconfigjson"], "base64").toString("utf8"))?.auths ?? {};
    if (data[".dockercfg"]) return JSON.parse(Buffer.from(data[".dockercfg"], "base64").toString("utf8")) ?? {};
  } catch {
    // A malformed secret gives no credentials.
  }
  return {};
}

/** Credentials for pulling `image` for `pod`, or undefined. */
export async function imagePullAuth(client: Client, pod: KObject, image: string): Promise<ImageAuth | undefined> {
  const refs: any[] = Array.isArray(pod.spec?.imagePullSecrets) ? pod.spec.imagePullSecrets : [];
  if (refs.length === 0) return undefined;
  const want = normalizeKey(registryHost(image));
  for (const ref of refs) {
    if (!ref?.name) continue;
    let secret: KObject;
    try {
      secret = await client.get("v1/secrets", pod.metadata.namespace, ref.name);
    } catch {
      continue;
    }
    for (const [key, v] of Object.entries(entries(secret))) {
      if (normalizeKey(key) !== want || !v || typeof v !== "object") continue;
      const auth: ImageAuth = {};
      // containerd 1.6 url.Parse()s serverAddress and drops the credentials unless its host
      // is the host it pulls from: a bare "host:port" key (what `kubectl create secret
      // docker-registry --docker-server=127.0.0.1:5000` writes) fails to parse, so give it a
      // scheme; Docker Hub keys name index.docker.io while pulls go to registry-1.docker.io,
      // so send none there (the kubelet sends none at all: the match was made here).
      if (want !== "docker.io") auth.serverAddress = /^[a-z]+:\/\//i.test(key) ? key : `https://${key}`;
      if (v.username) auth.username = String(v.username);
      if (v.password) auth.password = String(v.password);
      if (v.auth) auth.auth = String(v.auth);
      if (v.identitytoken) auth.identityToken = String(v.identitytoken);
      return auth;
    }
  }
  return undefined;
}
