import { UnchangedReuse, Versions } from '../../src/cache';

describe('UnchangedReuse', () => {
  const counting = () => {
    let loads = 0;
    return { load: async () => ++loads, loads: () => loads };
  };

  it('answers the kept value until a rating, an import or its age moves it', async () => {
    let now = 0;
    const versions = new Versions();
    const reuse = new UnchangedReuse<number>(versions, 1000, () => now);
    const { load, loads } = counting();
    expect(await reuse.get(load)).toBe(1);
    now = 999;
    expect(await reuse.get(load)).toBe(1);
    expect(loads()).toBe(1);

    // A write through the service (here or on another instance, by its notice).
    versions.observe({ kind: 'user', userId: 3, version: 17 });
    expect(await reuse.get(load)).toBe(2);
    // A read of a user whose version is higher than any seen also says something was written.
    versions.sawUser(4, 18);
    expect(await reuse.get(load)).toBe(3);
    // An import moves the catalog.
    versions.observe({ kind: 'catalog', version: 2 });
    expect(await reuse.get(load)).toBe(4);
    expect(await reuse.get(load)).toBe(4);
    // Writes no notice tells of: at most maxUnchangedMs late.
    now = 999 + 1000;
    expect(await reuse.get(load)).toBe(5);
    expect(loads()).toBe(5);
  });

  it('loads every time without versions, and after forget()', async () => {
    const alone = new UnchangedReuse<number>(null, 1000, () => 0);
    const first = counting();
    expect(await alone.get(first.load)).toBe(1);
    expect(await alone.get(first.load)).toBe(2);

    const reuse = new UnchangedReuse<number>(new Versions(), 1000, () => 0);
    const second = counting();
    expect(await reuse.get(second.load)).toBe(1);
    reuse.forget();
    expect(await reuse.get(second.load)).toBe(2);
    expect(await reuse.get(second.load)).toBe(2);
  });

  it('does not keep a load that forget() overtook', async () => {
    const reuse = new UnchangedReuse<number>(new Versions(), 1000, () => 0);
    let release!: (value: number) => void;
    const slow = reuse.get(() => new Promise<number>((resolve) => (release = resolve)));
    reuse.forget();
    release(7);
    expect(await slow).toBe(7);
    expect(await reuse.get(async () => 8)).toBe(8);
  });
});
