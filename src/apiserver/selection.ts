// List/watch filtering by label and field selectors
// (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors,
// https://kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors/).
// Field names a kind does not support are rejected up front with upstream's message.

import type { KObject } from "../apimachinery/types.js";
import type { ResourceDef } from "../api/types.js";
import { parseLabelSelector, type LabelSelectorMatcher } from "../apimachinery/labels.js";
import { checkFieldSelector, matchFields, objectFieldGetter, parseFieldSelector, requiresExactMatch, type FieldSelector } from "../apimachinery/fields.js";

export class Selection {
  private readonly labels?: LabelSelectorMatcher;
  private readonly fields?: FieldSelector;

  constructor(
    private readonly def: ResourceDef,
    labelSelector?: string,
    fieldSelector?: string,
  ) {
    if (labelSelector) this.labels = parseLabelSelector(labelSelector);
    if (fieldSelector) {
      this.fields = parseFieldSelector(fieldSelector);
      checkFieldSelector(this.fields, Object.keys(def.fieldSelectors ?? {}));
    }
  }

  /** True when nothing is filtered. */
  get everything(): boolean {
    return !this.labels && !this.fields?.requirements.length;
  }

  /** The name a `metadata.name=x` selector pins, for a single-key read. */
  exactName(): string | undefined {
    return this.fields ? requiresExactMatch(this.fields, "metadata.name") : undefined;
  }

  matches(obj: KObject): boolean {
    if (this.labels && !this.labels.matches(obj.metadata?.labels)) return false;
    if (this.fields && !matchFields(this.fields, objectFieldGetter(obj, this.def.fieldSelectors ?? {}))) return false;
    return true;
  }
}
