/** Builds a value on first use and keeps it for the life of the execution environment. */
export function once<T>(build: () => T): () => T {
  let cell: { value: T } | undefined;
  return () => (cell ??= { value: build() }).value;
}

/** Like `once` for async builders, except that a failure is not kept: the next call tries again. */
export function onceAsync<T>(build: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () =>
    (pending ??= build().catch((error: unknown) => {
      pending = undefined;
      throw error;
    }));
}
