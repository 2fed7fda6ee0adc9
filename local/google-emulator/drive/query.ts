/**
 * The subset of Drive's search syntax (`q`) apps use on their app data folder: clauses
 * joined by `and` on name, mimeType, parents, trashed, createdTime and modifiedTime.
 * Anything else is rejected as Drive rejects a bad query (400 Invalid Value).
 */
import type { StoredFile } from './store';

export type FilePredicate = (file: StoredFile) => boolean;

export class QuerySyntaxError extends Error {}

type Token = { kind: 'string' | 'word' | 'operator'; text: string };

const TOKEN = /\s*(?:'((?:[^'\\]|\\.)*)'|(!=|<=|>=|=|<|>)|([A-Za-z]+))/y;
const COMPARISONS: Record<string, (order: number) => boolean> = {
  '=': (order) => order === 0,
  '!=': (order) => order !== 0,
  '<': (order) => order < 0,
  '<=': (order) => order <= 0,
  '>': (order) => order > 0,
  '>=': (order) => order >= 0,
};

/** `resolveId` maps aliases such as `appDataFolder` in `'…' in parents` to real ids. */
export function parseQuery(q: string, resolveId: (id: string) => string): FilePredicate {
  const tokens = tokenize(q);
  const clauses: FilePredicate[] = [];
  for (let index = 0; index < tokens.length; index += 4) {
    clauses.push(clause(tokens.slice(index, index + 3), resolveId));
    const joiner = tokens[index + 3];
    if (joiner && !(joiner.kind === 'word' && joiner.text.toLowerCase() === 'and')) {
      throw new QuerySyntaxError(`unsupported query joiner: ${joiner.text}`);
    }
    if (joiner && index + 4 >= tokens.length) throw new QuerySyntaxError('query ends with "and"');
  }
  return (file) => clauses.every((matches) => matches(file));
}

function clause([left, middle, right]: Token[], resolveId: (id: string) => string): FilePredicate {
  if (!left || !middle || !right) throw new QuerySyntaxError('incomplete query clause');
  if (left.kind === 'string' && middle.text === 'in' && right.text === 'parents') {
    const parentId = resolveId(left.text);
    return (file) => file.parents.includes(parentId);
  }
  if (left.kind !== 'word') throw new QuerySyntaxError(`unsupported query clause at ${left.text}`);
  if (left.text === 'trashed' && middle.text === '=' && right.kind === 'word') {
    if (right.text !== 'true' && right.text !== 'false') throw new QuerySyntaxError('trashed takes true or false');
    const wanted = right.text === 'true';
    return () => wanted === false; // nothing is ever trashed here
  }
  if (right.kind !== 'string') throw new QuerySyntaxError(`${left.text} needs a quoted value`);
  if (left.text === 'name' && middle.text === 'contains') return (file) => file.name.includes(right.text);
  const compare = COMPARISONS[middle.text];
  if (!compare) throw new QuerySyntaxError(`unsupported operator ${middle.text}`);
  switch (left.text) {
    case 'name':
    case 'mimeType':
      return (file) => compare(codeUnitOrder(file[left.text as 'name' | 'mimeType'], right.text));
    case 'createdTime':
    case 'modifiedTime': {
      const time = Date.parse(right.text);
      if (Number.isNaN(time)) throw new QuerySyntaxError(`invalid time ${right.text}`);
      const field = left.text === 'createdTime' ? 'createdMs' : 'modifiedMs';
      return (file) => compare(file[field] - time);
    }
    default:
      throw new QuerySyntaxError(`unsupported query field ${left.text}`);
  }
}

function codeUnitOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function tokenize(q: string): Token[] {
  const tokens: Token[] = [];
  const pattern = new RegExp(TOKEN);
  const end = q.trimEnd().length;
  while (pattern.lastIndex < end) {
    const position = pattern.lastIndex;
    const match = pattern.exec(q);
    if (!match) throw new QuerySyntaxError(`unexpected character at ${position}`);
    const [, quoted, operator, word] = match;
    if (quoted !== undefined) tokens.push({ kind: 'string', text: quoted.replace(/\\(.)/g, '$1') });
    else if (operator !== undefined) tokens.push({ kind: 'operator', text: operator });
    else tokens.push({ kind: 'word', text: word ?? '' });
  }
  return tokens;
}
