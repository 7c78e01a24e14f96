// The Kubernetes failure catalogue: one class per `Status` reason
// (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/status/).
// Every error that reaches a client is one of these and renders itself as a Status;
// nothing matches on message strings.

export interface StatusCause {
  /** e.g. FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, FieldValueDuplicate, FieldValueForbidden, FieldValueTooLong */
  reason: string;
  message: string;
  /** JSON path of the offending field, e.g. "metadata.name" or "spec.containers[0].image" */
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, unknown>;
  status: "Success" | "Failure";
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = new.target.name;
  }

  toStatus(): Status {
    const s: Status = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) s.details = this.details;
    return s;
  }
}

/** `qualified` is "pods" or "deployments.apps" as upstream prints it. */
function qualified(resource: string, group?: string): string {
  return group ? `${resource}.${group}` : resource;
}

export class NotFound extends StatusError {
  constructor(resource: string, name: string, group = "") {
    super(404, "NotFound", `${qualified(resource, group)} "${name}" not found`, { name, group, kind: resource });
  }
}

/** A 404 for a path or type the server does not serve at all. */
export class NotFoundPath extends StatusError {
  constructor(message = "the server could not find the requested resource") {
    super(404, "NotFound", message, {});
  }
}

export class AlreadyExists extends StatusError {
  constructor(resource: string, name: string, group = "") {
    super(409, "AlreadyExists", `${qualified(resource, group)} "${name}" already exists`, { name, group, kind: resource });
  }
}

export class Conflict extends StatusError {
  constructor(resource: string, name: string, group = "", why = "the object has been modified; please apply your changes to the latest version and try again", causes?: StatusCause[]) {
    super(409, "Conflict", `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": ${why}`, {
      name,
      group,
      kind: resource,
      ...(causes ? { causes } : {}),
    });
  }
}

/** Server-side apply field-manager conflicts: 409 with one cause per conflicting field. */
export class ApplyConflict extends StatusError {
  constructor(message: string, causes: StatusCause[]) {
    super(409, "Conflict", message, { causes });
  }
}

export class Invalid extends StatusError {
  constructor(kind: string, name: string, causes: StatusCause[], group = "") {
    const list = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
    const summary = list.length === 1 ? list[0] : `[${list.join(", ")}]`;
    super(422, "Invalid", `${kind}${group ? "." + group : ""} "${name}" is invalid: ${summary}`, { name, group, kind, causes });
  }
}

export class BadRequest extends StatusError {
  constructor(message: string, causes?: StatusCause[]) {
    super(400, "BadRequest", message, causes ? { causes } : undefined);
  }
}

export class Unauthorized extends StatusError {
  constructor(message = "Unauthorized") {
    super(401, "Unauthorized", message);
  }
}

export class Forbidden extends StatusError {
  constructor(message: string, details?: StatusDetails) {
    super(403, "Forbidden", message, details);
  }
}

export class MethodNotAllowed extends StatusError {
  constructor(message = "the server does not allow this method on the requested resource") {
    super(405, "MethodNotAllowed", message);
  }
}

export class NotAcceptable extends StatusError {
  constructor(message: string) {
    super(406, "NotAcceptable", message);
  }
}

/** Watch or list from a compacted resourceVersion. */
export class Gone extends StatusError {
  constructor(message = "too old resource version") {
    super(410, "Expired", message);
  }
}

export class RequestEntityTooLarge extends StatusError {
  constructor(message = "Request entity too large: limit is 3145728") {
    super(413, "RequestEntityTooLarge", message);
  }
}

export class UnsupportedMediaType extends StatusError {
  constructor(contentType: string) {
    super(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got ${contentType})`);
  }
}

export class TooManyRequests extends StatusError {
  constructor(message: string, retryAfterSeconds = 1) {
    super(429, "TooManyRequests", message, { retryAfterSeconds });
  }
}

export class InternalError extends StatusError {
  constructor(message: string) {
    super(500, "InternalError", `Internal error occurred: ${message}`);
  }
}

export class ServiceUnavailable extends StatusError {
  constructor(message: string) {
    super(503, "ServiceUnavailable", message);
  }
}

export class Timeout extends StatusError {
  constructor(message: string) {
    super(504, "Timeout", message);
  }
}

/** Field error constructors used by validation (upstream's field.ErrorList vocabulary). */
export const fieldError = {
  required: (field: string, detail = "Required value"): StatusCause => ({ reason: "FieldValueRequired", field, message: detail }),
  invalid: (field: string, value: unknown, detail: string): StatusCause => ({
    reason: "FieldValueInvalid",
    field,
    message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
  }),
  notSupported: (field: string, value: unknown, valid: readonly string[]): StatusCause => ({
    reason: "FieldValueNotSupported",
    field,
    message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${valid.map((v) => `"${v}"`).join(", ")}`,
  }),
  duplicate: (field: string, value: unknown): StatusCause => ({ reason: "FieldValueDuplicate", field, message: `Duplicate value: ${JSON.stringify(value)}` }),
  forbidden: (field: string, detail: string): StatusCause => ({ reason: "FieldValueForbidden", field, message: `Forbidden: ${detail}` }),
  tooLong: (field: string, max: number): StatusCause => ({ reason: "FieldValueTooLong", field, message: `Too long: may not be more than ${max} bytes` }),
  immutable: (field: string): StatusCause => ({ reason: "FieldValueInvalid", field, message: "field is immutable" }),
  typeInvalid: (field: string, value: unknown, detail: string): StatusCause => ({
    reason: "FieldValueTypeInvalid",
    field,
    message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
  }),
};

export function isStatusError(e: unknown): e is StatusError {
  return e instanceof StatusError;
}

/** Turns anything thrown into a StatusError (unknown errors become 500 with their message). */
export function toStatusError(e: unknown): StatusError {
  if (e instanceof StatusError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new InternalError(msg);
}
