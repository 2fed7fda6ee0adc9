/**
 * Captures everything written to stdout/stderr (where the Powertools logger writes), so a
 * suite can assert that no line ever held a token, code or secret.
 */
export interface LogCapture {
  text(): string;
  restore(): void;
}

export function captureOutput(): LogCapture {
  const chunks: string[] = [];
  const originals = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
  const tap =
    (original: typeof process.stdout.write) =>
    (chunk: unknown, ...rest: unknown[]): boolean => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
    };
  process.stdout.write = tap(originals.out);
  process.stderr.write = tap(originals.err);
  return {
    text: () => chunks.join(''),
    restore: () => {
      process.stdout.write = originals.out;
      process.stderr.write = originals.err;
    },
  };
}

/** The error-level lines of captured Powertools output (a rejected request must log none). */
export function errorLines(text: string): string[] {
  return text.split('\n').filter((line) => /"level":"(ERROR|CRITICAL)"/.test(line));
}
