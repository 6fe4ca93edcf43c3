import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { checkKeyName, parseScopes } from '../../src/services/service-keys';
import { graphql, startTestApi, TestApi } from '../helpers/api';
import { createTestDatabase, TestDatabase } from '../helpers/database';

const ROOT = path.resolve(__dirname, '../..');
const run = promisify(execFile);

describe('npm run keys', () => {
  let db: TestDatabase;
  let api: TestApi;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    db = await createTestDatabase();
    // The CLI reaches the test schema the way any client would: through the URL's search_path.
    const url = new URL(db.url);
    url.searchParams.set('options', `-c search_path=${db.schema},public`);
    env = { ...process.env, DATABASE_URL: url.toString() };
    // Lookups are not remembered, so what the CLI revokes fails on the very next request.
    api = await startTestApi(db.dataSource, {}, { SERVICE_KEY_CACHE_MS: '0' });
  });

  afterAll(async () => {
    await api.stop();
    await db.drop();
  });

  const keys = (...args: string[]) =>
    run(
      process.execPath,
      ['-r', require.resolve('@swc-node/register'), 'src/services/keys-cli.ts', ...args],
      {
        cwd: ROOT,
        env,
      },
    );
  const failing = (...args: string[]) =>
    keys(...args).then(
      () => {
        throw new Error(`keys ${args.join(' ')} succeeded`);
      },
      (error: { code: number; stderr: string }) => error,
    );

  it('creates a key shown once, lists it, and revokes it so the server refuses it at once', async () => {
    const created = await keys('create', '--name', 'shop', '--scopes', 'write,read');
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^cgk_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toMatch(/created key \d+ "shop" \(read, write\)/);
    const [stored] = await db.dataSource.query(`SELECT key_hash FROM service_keys WHERE name = 'shop'`);
    expect(stored.key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(secret.slice(4));

    const upsert = `mutation { upsertUser(externalId: "cli-user") { id externalId } }`;
    const auth = { authorization: `Bearer ${secret}` };
    const made = await graphql<any>(api.url, upsert, {}, auth);
    expect(made.errors).toBeUndefined();
    expect(made.data.upsertUser.externalId).toBe('cli-user');

    const listed = await keys('list', '--json');
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ name: 'shop', scopes: ['read', 'write'], revokedAt: null }),
    ]);
    expect((await keys('list')).stdout).toMatch(/^\d+\tshop\tread,write\tcreated \S+\tlive\n$/);

    const duplicate = await failing('create', '--name', 'shop', '--scopes', 'read');
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toMatch(/already named "shop"/);

    expect((await keys('revoke', 'shop')).stdout).toMatch(/^revoked key \d+ "shop"/);
    const refused = await graphql(api.url, upsert, {}, auth);
    expect(refused.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect((await failing('revoke', 'shop')).stderr).toMatch(/no live key/);
    expect((await keys('list')).stdout).toMatch(/\tshop\tread,write\tcreated \S+\trevoked \S+\n$/);

    // Rotation: a new key under the same name and scopes, the old one revoked.
    const first = (await keys('create', '--name', 'app', '--scopes', 'admin')).stdout.trim();
    const rotated = (await keys('rotate', 'app')).stdout.trim();
    expect(rotated).toMatch(/^cgk_/);
    expect(rotated).not.toBe(first);
    const live = await db.dataSource.query(
      `SELECT name, scopes FROM service_keys WHERE revoked_at IS NULL ORDER BY id`,
    );
    expect(live).toEqual([{ name: 'app', scopes: ['admin'] }]);
  }, 240_000);

  it('refuses bad command lines with the usage, bad names and scopes with a message: exit code 2, nothing written', async () => {
    const [bogus, incomplete, badScope, badName] = await Promise.all([
      failing('bogus'),
      failing('create', '--name', 'x'),
      failing('create', '--name', 'x', '--scopes', 'read,root'),
      failing('create', '--name', '7up', '--scopes', 'read'),
    ]);
    for (const failed of [bogus, incomplete]) {
      expect(failed.code).toBe(2);
      expect(failed.stderr).toMatch(/Usage: npm run keys/);
    }
    expect(badScope.code).toBe(2);
    expect(badScope.stderr).toMatch(/read, write, admin/);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/starting with a letter/);
    expect(await db.dataSource.query(`SELECT name FROM service_keys WHERE name IN ('x', '7up')`)).toEqual([]);
  }, 60_000);

  it('parses scopes and names strictly', () => {
    expect(parseScopes('write, read')).toEqual(['read', 'write']);
    expect(() => parseScopes('')).toThrow(/comma-separated/);
    expect(() => parseScopes('read,read')).toThrow(/repeated/);
    expect(() => parseScopes('READ')).toThrow(/comma-separated/);
    expect(checkKeyName('shop-eu.1')).toBe('shop-eu.1');
    for (const name of ['', '1shop', 'a b', 'x'.repeat(65), 'naïve'])
      expect(() => checkKeyName(name)).toThrow();
  });
});
