/**
 * A module (or anything costly) loaded the first time it is asked for, then shared: heavy
 * dependencies that only some work needs stay out of a node's memory at start.
 */
export function lazily<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | null = null;
  return () => {
    loading ??= load();
    return loading;
  };
}
