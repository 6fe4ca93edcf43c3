/**
 * `work`'s result, or 'timed out' once `ms` pass first. The timer is unref'd (a deadline must not
 * keep a finished process alive) and cleared either way; `work` itself is not cancelled.
 */
export async function within<T>(ms: number, work: Promise<T>): Promise<T | 'timed out'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'timed out'>((resolve) => {
    timer = setTimeout(() => resolve('timed out'), ms).unref();
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
