/**
 * Partial responses: the `fields` parameter of googleapis (`nextPageToken,files(id,name)`,
 * `files/id`, `*`), parsed into a tree and applied to a response object.
 */
export type FieldMask = Map<string, FieldMask | 'all'>;

export class FieldMaskSyntaxError extends Error {}

export function parseFieldMask(text: string): FieldMask {
  const parser = new MaskParser(text.replace(/\s+/g, ''));
  const mask = parser.list();
  if (!parser.atEnd()) throw new FieldMaskSyntaxError(`Invalid field selection ${text}`);
  return mask;
}

export function applyFieldMask(value: unknown, mask: FieldMask): unknown {
  if (Array.isArray(value)) return value.map((item) => applyFieldMask(item, mask));
  if (typeof value !== 'object' || value === null || mask.has('*')) return value;
  const source = value as Record<string, unknown>;
  const selected: Record<string, unknown> = {};
  for (const [name, sub] of mask) {
    if (source[name] === undefined) continue;
    selected[name] = sub === 'all' ? source[name] : applyFieldMask(source[name], sub);
  }
  return selected;
}

class MaskParser {
  private position = 0;

  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.position >= this.text.length;
  }

  /** item (',' item)* */
  list(mask: FieldMask = new Map()): FieldMask {
    do this.item(mask);
    while (this.accept(','));
    return mask;
  }

  /** name ('/' item | '(' list ')')? */
  private item(mask: FieldMask): void {
    const name = this.name();
    if (this.accept('/')) {
      this.item(this.child(mask, name));
    } else if (this.accept('(')) {
      this.list(this.child(mask, name));
      if (!this.accept(')')) throw new FieldMaskSyntaxError(`Invalid field selection ${this.text}`);
    } else {
      mask.set(name, 'all');
    }
  }

  /** A sub-selection; selecting part of a field already selected whole keeps it whole. */
  private child(mask: FieldMask, name: string): FieldMask {
    const existing = mask.get(name);
    if (existing === 'all') return new Map<string, FieldMask | 'all'>(); // parsed, then ignored
    const child: FieldMask = existing ?? new Map();
    mask.set(name, child);
    return child;
  }

  private name(): string {
    const match = /^[A-Za-z0-9_*]+/.exec(this.text.slice(this.position));
    if (!match) throw new FieldMaskSyntaxError(`Invalid field selection ${this.text}`);
    this.position += match[0].length;
    return match[0];
  }

  private accept(char: string): boolean {
    if (this.text[this.position] !== char) return false;
    this.position++;
    return true;
  }
}
