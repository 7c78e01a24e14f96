// storage.k8s.io/v1 schema: StorageClass and the core/v1 topology selector it uses
// (https://kubernetes.io/docs/reference/kubernetes-api/config-and-storage-resources/storage-class-v1/).
// Field numbers follow k8s.io/api/storage/v1/generated.proto and, for
// TopologySelectorTerm, k8s.io/api/core/v1/generated.proto. Registered with the other
// groups' types in src/api/schema/registry.ts.

import { defineTypes, PACKAGES } from "./schema/builder.js";

export const STORAGE_PACKAGE = "io.k8s.api.storage.v1";

export const storageTypes = [
  ...defineTypes(
    STORAGE_PACKAGE,
    `
@StorageClass gvk=storage.k8s.io/v1/StorageClass
metadata 1 meta.ObjectMeta
provisioner! 2 string
parameters 3 {}string
reclaimPolicy 4 *string
mountOptions 5 []string lt=atomic
allowVolumeExpansion 6 *bool
volumeBindingMode 7 *string
allowedTopologies 8 []core.TopologySelectorTerm lt=atomic
`,
  ),
  ...defineTypes(
    PACKAGES.core!,
    `
@TopologySelectorTerm
matchLabelExpressions 1 []TopologySelectorLabelRequirement lt=atomic

@TopologySelectorLabelRequirement
key! 1 string
values! 2 []string lt=atomic
`,
  ),
];
