// Decoding of Kubernetes protobuf request bodies (Content-Type
// application/vnd.kubernetes.protobuf), which kubectl 1.32+ sends for typed `create`
// commands: the magic prefix "k8s\0" then a runtime.Unknown{1: TypeMeta{1: apiVersion,
// 2: kind}, 2: raw, 3: contentEncoding, 4: contentType} whose `raw` is the object's
// message (https://kubernetes.io/docs/reference/using-api/api-concepts/#protobuf-encoding).
// The object is turned into exactly the JSON the client would otherwise have sent,
// walking the schema registry for field numbers. Go encodes every non-pointer field
// even when empty, so zero scalars are dropped unless the field is a pointer (where
// zero is meaningful, e.g. replicas: 0), mirroring the JSON `omitempty` output.

import { BadRequest, StatusError } from "./errors.js";
import type { KObject } from "./types.js";
import { embeddedTypes, isPointerField, schema } from "../api/schema/registry.js";
import type { FieldDef, FieldType, TypeDef } from "../api/schema/types.js";

const MAGIC = [0x6b, 0x38, 0x73, 0x00]; // "k8s\0"

/** Raised inside the decoder for malformed input; turned into a BadRequest at the top. */
class WireError extends Error {}

const utf8 = new TextDecoder("utf-8");

/** A cursor over protobuf wire data (varints, length-delimited fields, fixed 32/64). */
class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }
  get done(): boolean {
    return this.pos >= this.end;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new WireError("truncated varint");
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new WireError("varint too long");
    }
  }
  /** A length prefix, checked against the remaining bytes. */
  length(): number {
    const n = this.varint();
    if (n > BigInt(this.end - this.pos)) throw new WireError("length exceeds message");
    return Number(n);
  }
  bytes(): Uint8Array {
    const n = this.length();
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  fixed(n: 4 | 8): DataView {
    if (this.pos + n > this.end) throw new WireError("truncated fixed-width field");
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, n);
    this.pos += n;
    return view;
  }
  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.fixed(8);
        return;
      case 2:
        this.bytes();
        return;
      case 5:
        this.fixed(4);
        return;
      default:
        throw new WireError(`unsupported wire type ${wireType}`);
    }
  }
  /** Reads a field key; returns [fieldNumber, wireType]. */
  key(): [number, number] {
    const k = this.varint();
    const tag = Number(k >> 3n);
    if (tag <= 0) throw new WireError("invalid field number 0");
    return [tag, Number(k & 7n)];
  }
}

/** Iterates the fields of one message. */
function* fields(buf: Uint8Array): Generator<[number, number, Reader]> {
  const r = new Reader(buf);
  while (!r.done) {
    const [tag, wt] = r.key();
    yield [tag, wt, r];
  }
}

function expectWire(wt: number, want: number, what: string): void {
  if (wt !== want) throw new WireError(`${what}: wire type ${wt}, expected ${want}`);
}

function formatTime(seconds: bigint, nanos: number, micro: boolean): string {
  const ms = Number(seconds) * 1000;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) throw new WireError("timestamp out of range");
  const base = new Date(ms).toISOString().replace(/\.\d{3}Z$/, "");
  if (!micro) return `${base}Z`;
  return `${base}.${String(Math.floor(nanos / 1000)).padStart(6, "0")}Z`;
}

function decodeTime(buf: Uint8Array, micro: boolean): string | undefined {
  // A zero metav1.Time marshals as an empty message (JSON null): leave the field out.
  if (buf.length === 0) return undefined;
  let seconds = 0n;
  let nanos = 0;
  for (const [tag, wt, r] of fields(buf)) {
    if (tag === 1) expectWire(wt, 0, "Time.seconds"), (seconds = BigInt.asIntN(64, r.varint()));
    else if (tag === 2) expectWire(wt, 0, "Time.nanos"), (nanos = Number(BigInt.asIntN(32, r.varint())));
    else r.skip(wt);
  }
  return formatTime(seconds, nanos, micro);
}

function decodeIntOrString(buf: Uint8Array): number | string {
  let type = 0n;
  let intVal = 0;
  let strVal = "";
  for (const [tag, wt, r] of fields(buf)) {
    if (tag === 1) expectWire(wt, 0, "IntOrString.type"), (type = r.varint());
    else if (tag === 2) expectWire(wt, 0, "IntOrString.intVal"), (intVal = Number(BigInt.asIntN(32, r.varint())));
    else if (tag === 3) expectWire(wt, 2, "IntOrString.strVal"), (strVal = utf8.decode(r.bytes()));
    else r.skip(wt);
  }
  return type === 1n ? strVal : intVal;
}

function decodeStringMessage(buf: Uint8Array, what: string): string {
  let s = "";
  for (const [tag, wt, r] of fields(buf)) {
    if (tag === 1) expectWire(wt, 2, what), (s = utf8.decode(r.bytes()));
    else r.skip(wt);
  }
  return s;
}

/** RawExtension / FieldsV1: {1: raw JSON bytes}. */
function decodeRaw(buf: Uint8Array): unknown {
  let raw: Uint8Array | undefined;
  for (const [tag, wt, r] of fields(buf)) {
    if (tag === 1) expectWire(wt, 2, "raw"), (raw = r.bytes());
    else r.skip(wt);
  }
  if (!raw || raw.length === 0) return undefined;
  try {
    return JSON.parse(utf8.decode(raw));
  } catch {
    throw new WireError("embedded raw object is not JSON");
  }
}

function isScalarNumeric(t: FieldType): boolean {
  return t.kind === "int32" || t.kind === "int64" || t.kind === "bool" || t.kind === "double";
}

function numericValue(t: FieldType, r: Reader, wt: number, what: string): number | boolean {
  if (t.kind === "double") {
    expectWire(wt, 1, what);
    return r.fixed(8).getFloat64(0, true);
  }
  expectWire(wt, 0, what);
  const v = r.varint();
  if (t.kind === "bool") return v !== 0n;
  if (t.kind === "int32") return Number(BigInt.asIntN(32, v));
  return Number(BigInt.asIntN(64, v));
}

/** Decodes one value of type `t` at the reader (one wire occurrence). undefined = omit. */
function decodeValue(t: FieldType, r: Reader, wt: number, what: string): unknown {
  switch (t.kind) {
    case "string":
      expectWire(wt, 2, what);
      return utf8.decode(r.bytes());
    case "bytes":
      expectWire(wt, 2, what);
      return Buffer.from(r.bytes()).toString("base64");
    case "int32":
    case "int64":
    case "bool":
    case "double":
      return numericValue(t, r, wt, what);
    case "quantity":
      expectWire(wt, 2, what);
      return decodeStringMessage(r.bytes(), what);
    case "intOrString":
      expectWire(wt, 2, what);
      return decodeIntOrString(r.bytes());
    case "time":
    case "microTime":
      expectWire(wt, 2, what);
      return decodeTime(r.bytes(), t.kind === "microTime");
    case "any":
      expectWire(wt, 2, what);
      return decodeRaw(r.bytes());
    case "ref": {
      expectWire(wt, 2, what);
      const def = schema.type(t.type);
      if (!def) throw new WireError(`no schema for ${t.type}`);
      return decodeMessage(r.bytes(), def);
    }
    default:
      throw new WireError(`${what}: nested ${t.kind} is not a protobuf value`);
  }
}

function isZero(v: unknown): boolean {
  return v === "" || v === 0 || v === false;
}

function decodeMapEntry(valueType: FieldType, buf: Uint8Array, what: string): [string, unknown] {
  let key = "";
  let value: unknown;
  for (const [tag, wt, r] of fields(buf)) {
    if (tag === 1) expectWire(wt, 2, `${what} key`), (key = utf8.decode(r.bytes()));
    else if (tag === 2) value = decodeValue(valueType, r, wt, `${what}[${key}]`);
    else r.skip(wt);
  }
  if (value === undefined) {
    // An absent value is the type's zero value (proto2 maps always write both, but be lenient).
    value = valueType.kind === "string" || valueType.kind === "bytes" ? "" : valueType.kind === "ref" ? {} : undefined;
  }
  return [key, value];
}

function directFields(def: TypeDef): Map<number, FieldDef> {
  let m = directCache.get(def.name);
  if (!m) {
    m = new Map();
    for (const f of def.fields) if (f.tag > 0) m.set(f.tag, f);
    directCache.set(def.name, m);
  }
  return m;
}
const directCache = new Map<string, Map<number, FieldDef>>();

function decodeMessage(buf: Uint8Array, def: TypeDef): Record<string, unknown> {
  const obj: Record<string, unknown> = {};
  const byTag = directFields(def);
  const embedded = embeddedTypes(def.name);
  for (const [tag, wt, r] of fields(buf)) {
    const f = byTag.get(tag);
    if (!f) {
      const inner = embedded?.get(tag);
      if (inner !== undefined) {
        expectWire(wt, 2, `${def.name} embedded ${inner}`);
        const innerDef = schema.type(inner);
        if (!innerDef) throw new WireError(`no schema for ${inner}`);
        mergeInto(obj, decodeMessage(r.bytes(), innerDef));
      } else {
        r.skip(wt); // a field this server does not model: ignored, as upstream ignores unknown tags
      }
      continue;
    }
    const what = `${def.name}.${f.name}`;
    const t = f.type;
    if (t.kind === "array") {
      const list = (obj[f.name] as unknown[] | undefined) ?? [];
      if (wt === 2 && isScalarNumeric(t.items)) {
        // Packed repeated scalars: one length-delimited run of values.
        const run = new Reader(r.buf, r.pos, r.pos + r.length());
        r.pos = run.end;
        while (!run.done) list.push(numericValue(t.items, run, t.items.kind === "double" ? 1 : 0, what));
      } else {
        const v = decodeValue(t.items, r, wt, what);
        list.push(v === undefined ? null : v);
      }
      obj[f.name] = list;
    } else if (t.kind === "map") {
      expectWire(wt, 2, what);
      const [k, v] = decodeMapEntry(t.value, r.bytes(), what);
      const m = (obj[f.name] as Record<string, unknown> | undefined) ?? {};
      m[k] = v;
      obj[f.name] = m;
    } else {
      const v = decodeValue(t, r, wt, what);
      if (v === undefined) continue;
      if (isZero(v) && !isPointerField(def.name, f.name)) {
        delete obj[f.name]; // proto2 last-wins: a later zero clears an earlier value
        continue;
      }
      obj[f.name] = v;
    }
  }
  return obj;
}

function mergeInto(target: Record<string, unknown>, src: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(src)) {
    const prev = target[k];
    if (Array.isArray(prev) && Array.isArray(v)) target[k] = [...prev, ...v];
    else target[k] = v;
  }
}

interface UnknownEnvelope {
  apiVersion: string;
  kind: string;
  raw: Uint8Array;
  contentEncoding: string;
  contentType: string;
}

function decodeUnknown(buf: Uint8Array): UnknownEnvelope {
  const out: UnknownEnvelope = { apiVersion: "", kind: "", raw: new Uint8Array(), contentEncoding: "", contentType: "" };
  for (const [tag, wt, r] of fields(buf)) {
    if (tag === 1) {
      expectWire(wt, 2, "Unknown.typeMeta");
      for (const [t2, wt2, r2] of fields(r.bytes())) {
        if (t2 === 1) expectWire(wt2, 2, "TypeMeta.apiVersion"), (out.apiVersion = utf8.decode(r2.bytes()));
        else if (t2 === 2) expectWire(wt2, 2, "TypeMeta.kind"), (out.kind = utf8.decode(r2.bytes()));
        else r2.skip(wt2);
      }
    } else if (tag === 2) expectWire(wt, 2, "Unknown.raw"), (out.raw = r.bytes());
    else if (tag === 3) expectWire(wt, 2, "Unknown.contentEncoding"), (out.contentEncoding = utf8.decode(r.bytes()));
    else if (tag === 4) expectWire(wt, 2, "Unknown.contentType"), (out.contentType = utf8.decode(r.bytes()));
    else r.skip(wt);
  }
  return out;
}

/** Splits "apps/v1" into ["apps", "v1"] and "v1" into ["", "v1"]. */
function splitAPIVersion(apiVersion: string): [string, string] {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? ["", apiVersion] : [apiVersion.slice(0, slash), apiVersion.slice(slash + 1)];
}

/**
 * Decodes a Kubernetes protobuf body into the object's plain JSON form (apiVersion and
 * kind first, unset fields omitted). Throws BadRequest for a bad prefix, malformed
 * wire data, an encoded (compressed) payload or a kind without a schema.
 */
export function decodeProtobufObject(body: Uint8Array): KObject {
  if (body.length < MAGIC.length || MAGIC.some((b, i) => body[i] !== b)) {
    throw new BadRequest('unable to decode protobuf body: missing the "k8s\\x00" prefix');
  }
  try {
    const env = decodeUnknown(body.subarray(MAGIC.length));
    if (!env.kind || !env.apiVersion) throw new BadRequest("unable to decode protobuf body: apiVersion and kind must be set");
    if (env.contentEncoding) {
      throw new BadRequest(`unable to decode protobuf body: content encoding ${JSON.stringify(env.contentEncoding)} is not supported`);
    }
    const [group, version] = splitAPIVersion(env.apiVersion);
    const def = schema.forKind(group, version, env.kind);
    if (!def) throw new BadRequest(`unable to decode protobuf for kind ${env.kind} (${env.apiVersion}): no schema is registered for it`);
    const obj = decodeMessage(env.raw, def);
    return { apiVersion: env.apiVersion, kind: env.kind, ...obj } as KObject;
  } catch (e) {
    if (e instanceof StatusError) throw e;
    if (e instanceof WireError || e instanceof RangeError) {
      throw new BadRequest(`unable to decode protobuf body: ${e.message}`);
    }
    throw e;
  }
}
