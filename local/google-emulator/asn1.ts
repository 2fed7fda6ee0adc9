/**
 * Just enough ASN.1 DER encoding to build an X.509 certificate (node:crypto can parse
 * certificates but not create them).
 */
const TAG = {
  integer: 0x02,
  bitString: 0x03,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  sequence: 0x30,
  set: 0x31,
  utcTime: 0x17,
  generalizedTime: 0x18,
  boolean: 0x01,
  octetString: 0x04,
} as const;

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

export const der = {
  sequence: (...items: Buffer[]): Buffer => tlv(TAG.sequence, Buffer.concat(items)),
  set: (...items: Buffer[]): Buffer => tlv(TAG.set, Buffer.concat(items)),
  null: (): Buffer => tlv(TAG.null, Buffer.alloc(0)),
  boolean: (value: boolean): Buffer => tlv(TAG.boolean, Buffer.from([value ? 0xff : 0x00])),
  utf8String: (value: string): Buffer => tlv(TAG.utf8String, Buffer.from(value, 'utf8')),
  octetString: (content: Buffer): Buffer => tlv(TAG.octetString, content),
  /** BIT STRING; `unusedBits` counts the padding bits in the last byte (flag sets). */
  bitString: (content: Buffer, unusedBits = 0): Buffer =>
    tlv(TAG.bitString, Buffer.concat([Buffer.from([unusedBits]), content])),

  /** A non-negative integer given as big-endian bytes (a leading 0 keeps it positive). */
  unsignedInteger(bytes: Buffer): Buffer {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    const trimmed = bytes.subarray(start);
    const needsPad = (trimmed[0] ?? 0) >= 0x80;
    return tlv(TAG.integer, needsPad ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
  },

  smallInteger(value: number): Buffer {
    return der.unsignedInteger(Buffer.from([value]));
  },

  oid(dotted: string): Buffer {
    const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
    const bytes = [first * 40 + second];
    for (const arc of rest) {
      const base128: number[] = [arc & 0x7f];
      for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128)) {
        base128.unshift(0x80 | (value & 0x7f));
      }
      bytes.push(...base128);
    }
    return tlv(TAG.oid, Buffer.from(bytes));
  },

  /** X.509 wants UTCTime through 2049 and GeneralizedTime from 2050 on (RFC 5280 4.1.2.5). */
  time(date: Date): Buffer {
    const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
    return date.getUTCFullYear() < 2050
      ? tlv(TAG.utcTime, Buffer.from(`${iso.slice(2)}Z`))
      : tlv(TAG.generalizedTime, Buffer.from(`${iso}Z`));
  },

  /** Context-specific constructed tag, e.g. `[0] EXPLICIT` for the certificate version. */
  explicit: (tagNumber: number, content: Buffer): Buffer => tlv(0xa0 | tagNumber, content),
};
