/**
 * A minimal protocol-buffers wire codec: just what ONNX models need (varints, 32/64-bit
 * fixed, length-delimited fields). Written here so exporting a model does not pull in a
 * protobuf runtime and generated code for the whole ONNX schema.
 */

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** Accumulates encoded fields; nested messages are encoded first, then written as bytes. */
export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private scratch = new Uint8Array(1024);
  private pos = 0;
  private total = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.scratch.length) return;
    this.flush();
    if (n > this.scratch.length) this.scratch = new Uint8Array(n);
  }

  private flush(): void {
    if (this.pos === 0) return;
    this.chunks.push(this.scratch.slice(0, this.pos));
    this.pos = 0;
  }

  private byte(b: number): void {
    this.ensure(1);
    this.scratch[this.pos++] = b;
    this.total++;
  }

  /** Writes an unsigned or (two's complement, 10 bytes) negative 64-bit varint. */
  varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    if (typeof value === 'number' && value >= 0 && value < 2 ** 31) {
      let n = value;
      while (n > 0x7f) {
        this.byte((n & 0x7f) | 0x80);
        n >>>= 7;
      }
      this.byte(n);
      return;
    }
    while (v > 0x7fn) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  /** An int32/int64/enum/bool field. */
  int(field: number, value: number | bigint): void {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
  }

  /** A length-delimited field (bytes, string or an encoded sub-message). */
  bytes(field: number, value: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.varint(value.length);
    this.raw(value);
  }

  string(field: number, value: string): void {
    this.bytes(field, new TextEncoder().encode(value));
  }

  /** A single 32-bit float (fixed32 wire type). */
  float(field: number, value: number): void {
    this.tag(field, WIRE_I32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.raw(b);
  }

  /** A packed repeated float field. */
  packedFloats(field: number, values: ArrayLike<number>): void {
    const b = new Uint8Array(values.length * 4);
    const view = new DataView(b.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
    this.bytes(field, b);
  }

  /** A packed repeated double field. */
  packedDoubles(field: number, values: ArrayLike<number>): void {
    const b = new Uint8Array(values.length * 8);
    const view = new DataView(b.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat64(i * 8, values[i]!, true);
    this.bytes(field, b);
  }

  /** A packed repeated int64 (varint) field. */
  packedInts(field: number, values: ArrayLike<number>): void {
    const inner = new ProtoWriter();
    for (let i = 0; i < values.length; i++) inner.varint(values[i]!);
    this.bytes(field, inner.finish());
  }

  raw(b: Uint8Array): void {
    if (b.length > 256) {
      this.flush();
      this.chunks.push(b);
      this.total += b.length;
      return;
    }
    this.ensure(b.length);
    this.scratch.set(b, this.pos);
    this.pos += b.length;
    this.total += b.length;
  }

  /** The encoded message. */
  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.total);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}

/** One decoded field: varints as bigint, length-delimited as bytes, fixed as raw bytes. */
export type ProtoField =
  | { readonly field: number; readonly wire: 0; readonly value: bigint }
  | { readonly field: number; readonly wire: 1 | 2 | 5; readonly value: Uint8Array };

/** Decodes the top level of one message into its fields, in order; throws on truncated input. */
export function decodeFields(buf: Uint8Array): ProtoField[] {
  const out: ProtoField[] = [];
  let pos = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new RangeError('truncated protobuf varint');
      const b = buf[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw new RangeError('protobuf varint too long');
    }
  };
  const take = (n: number): Uint8Array => {
    if (pos + n > buf.length) throw new RangeError('truncated protobuf field');
    const v = buf.subarray(pos, pos + n);
    pos += n;
    return v;
  };
  while (pos < buf.length) {
    const key = readVarint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === WIRE_VARINT) out.push({ field, wire, value: readVarint() });
    else if (wire === WIRE_I64) out.push({ field, wire, value: take(8) });
    else if (wire === WIRE_LEN) out.push({ field, wire, value: take(Number(readVarint())) });
    else if (wire === WIRE_I32) out.push({ field, wire, value: take(4) });
    else throw new RangeError(`unsupported protobuf wire type ${wire}`);
  }
  return out;
}
