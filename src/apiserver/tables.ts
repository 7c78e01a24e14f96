// Server-side printing (https://kubernetes.io/docs/reference/using-api/api-concepts/#receiving-resources-as-tables):
// lists, single objects and watch events as meta.k8s.io/v1 Tables, with the columns
// each kind declares in the catalogue. Rows carry PartialObjectMetadata by default
// (for --show-labels / -L) or the whole object with includeObject=Object (--sort-by).

import type { KObject } from "../apimachinery/types.js";
import type { ResourceDef } from "../api/types.js";
import { ageColumn, ageSince, column } from "../api/table.js";

export type IncludeObject = "None" | "Metadata" | "Object";

const nameColumn = {
  ...column("Name", "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"),
  format: "name",
};

export function partialObjectMetadata(obj: KObject): KObject {
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: obj.metadata };
}

function row(def: ResourceDef, obj: KObject, now: Date, include: IncludeObject): object {
  let cells: unknown[];
  try {
    cells = def.table ? def.table.cells(obj, now) : [ageSince(obj.metadata.creationTimestamp, now)];
  } catch {
    // A malformed stored object must still list.
    cells = (def.table?.columns ?? [ageColumn()]).map(() => "<unknown>");
  }
  let name = obj.metadata.name ?? "";
  try {
    if (def.table?.nameCell) name = def.table.nameCell(obj);
  } catch {
    // keep the plain name
  }
  const r: Record<string, unknown> = { cells: [name, ...cells] };
  if (include === "Object") r.object = obj;
  else if (include === "Metadata") r.object = partialObjectMetadata(obj);
  return r;
}

export function toTable(
  def: ResourceDef,
  objects: KObject[],
  listMeta: { resourceVersion?: string; continue?: string; remainingItemCount?: number },
  include: IncludeObject = "Metadata",
  withColumns = true,
): KObject {
  const now = new Date();
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: listMeta as KObject["metadata"],
    columnDefinitions: withColumns ? [nameColumn, ...(def.table?.columns ?? [ageColumn()])] : [],
    rows: objects.map((o) => row(def, o, now, include)),
  };
}

export function parseIncludeObject(v: string | null): IncludeObject {
  return v === "None" || v === "Object" ? v : "Metadata";
}
