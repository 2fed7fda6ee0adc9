/**
 * DynamoDB's item size, the way it bills: attribute names plus values (strings in UTF-8
 * bytes, numbers about one byte per two digits plus one, binary its length, maps and lists
 * 3 bytes plus one per element plus their contents). Read units are per 4 KB, write units
 * per 1 KB, of the larger of the item before and after a write.
 */
export function itemSize(item: Record<string, unknown>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    size += Buffer.byteLength(name) + valueSize(value);
  }
  return size;
}

function valueSize(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return Math.ceil(String(Math.abs(value)).replace(/[.-]/g, '').length / 2) + 1;
  if (typeof value === 'boolean' || value === null) return 1;
  if (value instanceof Uint8Array) return value.length;
  if (Array.isArray(value)) return 3 + value.reduce<number>((sum, v) => sum + 1 + valueSize(v), 0);
  if (typeof value === 'object') {
    let size = 3;
    for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined) continue;
      size += 1 + Buffer.byteLength(name) + valueSize(v);
    }
    return size;
  }
  return 0;
}

export const writeUnits = (bytes: number): number => Math.max(1, Math.ceil(bytes / 1024));
/** Eventually consistent reads cost half a unit per started 4 KB. */
export const readUnits = (bytes: number, consistent: boolean): number =>
  Math.max(1, Math.ceil(bytes / 4096)) * (consistent ? 1 : 0.5);
