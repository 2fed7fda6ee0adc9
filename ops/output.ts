/**
 * How the CLI shows things: aligned tables (cli-table3) and a progress bar on scans
 * (cli-progress) for people, on a terminal; one JSON document on stdout with `--json`.
 * Progress and notes go to stderr, so stdout stays parseable.
 */
import { SingleBar } from 'cli-progress';
import Table from 'cli-table3';

export interface Output {
  json: boolean;
  /** One JSON document (with --json) or nothing. */
  data(value: unknown): void;
  /** A table (without --json). */
  table(head: string[], rows: (string | number)[][], options?: { alignRight?: number[] }): void;
  /** Field/value rows (without --json). */
  fields(rows: [string, string][]): void;
  /** A line for people (without --json), on stdout. */
  line(text: string): void;
  /** A note for people, on stderr, also with --json. */
  note(text: string): void;
  /** A progress bar on stderr (terminal only, not with --json). */
  progress(label: string, total: number): Progress;
}

export interface Progress {
  update(done: number, total?: number): void;
  stop(): void;
}

const plain = { head: [] as string[], border: [] as string[] };
/** No rule between rows: one line per row, ruled only under the header. */
const compact = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };

/** Where the CLI's own output goes: stdout (its `write`, saved before anything can redirect it). */
export interface Streams {
  stdout: { write(text: string): unknown };
  stderr: NodeJS.WriteStream;
}

export function output(json: boolean, { stdout, stderr }: Streams): Output {
  return {
    json,
    data: (value) => {
      if (json) stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    table: (head, rows, options = {}) => {
      if (json) return;
      const table = new Table({
        head,
        style: plain,
        chars: compact,
        colAligns: head.map((_, i) => (options.alignRight?.includes(i) ? 'right' : 'left')),
      });
      table.push(...rows.map((row) => row.map(String)));
      stdout.write(`${table.toString()}\n`);
    },
    fields: (rows) => {
      if (json) return;
      const table = new Table({ style: plain, chars: compact });
      table.push(...rows.map(([field, value]) => ({ [field]: value })));
      stdout.write(`${table.toString()}\n`);
    },
    line: (text) => {
      if (!json) stdout.write(`${text}\n`);
    },
    note: (text) => stderr.write(`${text}\n`),
    progress: (label, total) => {
      if (json || !stderr.isTTY) return { update: () => undefined, stop: () => undefined };
      const bar = new SingleBar({
        format: `${label} [{bar}] {value}/{total} items`,
        stream: stderr,
        hideCursor: true,
        clearOnComplete: true,
      });
      bar.start(Math.max(total, 1), 0);
      return {
        update: (done, newTotal) => {
          if (newTotal !== undefined) bar.setTotal(Math.max(newTotal, 1));
          bar.update(done);
        },
        stop: () => bar.stop(),
      };
    },
  };
}
