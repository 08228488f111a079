/** Resolves true when `p` settles (fulfilled or rejected) within `ms`, false at the deadline (`p` is left running). */
export async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true, () => true), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
