import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { answerHelp } from '../cli-help';
import { runCommand, withCommandDatabase } from '../db/command-database';
import { ConfigError, loadConfig } from '../config';
import { openDatabase } from '../db/datasource';
import { DomainError } from '../errors';
import { checkKeyName, parseScopes, Scope, ServiceKey, ServiceKeyStore } from './service-keys';

const USAGE = `Usage: npm run keys -- <command> [options]

Service keys: credentials for a server that calls the API on behalf of its users, sent as
"Authorization: Bearer cgk_…". Only a key's SHA-256 is stored, so a key is printed once, when it is
created or rotated. Works against DATABASE_URL, or, when DATABASE_URL is unset, against the embedded
database in DATA_DIR/pglite (the one npm start uses; stop the server first, the embedded database
belongs to one process at a time). Pending migrations are run first, as npm start does.

Commands:
  create --name <name> --scopes <scopes>   create a key; prints the key alone on stdout
  list [--json]                            every key: id, name, scopes, created, revoked
  revoke <id|name>                         revoke the live key with that id or name
  rotate <id|name>                         replace a live key by a new one with the same name
                                           and scopes (the old one is revoked); prints the new key

  --name     1–64 letters, digits, ".", "_" or "-", starting with a letter; unique among live keys
  --scopes   comma-separated: read (any user's data, private ones included), write (rate and send
             feedback for any user, create users), admin (shared settings such as experiments)
  -h, --help print this text

A key revoked here fails on a running server within SERVICE_KEY_CACHE_MS (default 5000 ms).

Example:
  npm run -s keys -- create --name shop --scopes read,write`;

type Command =
  | { name: 'create'; keyName: string; scopes: Scope[] }
  | { name: 'list'; json: boolean }
  | { name: 'revoke' | 'rotate'; target: string };

class UsageError extends Error {}

function parseCommand(argv: readonly string[]): Command {
  const { values, positionals } = parseArgs({
    args: argv.filter((arg) => arg !== '--'),
    options: { name: { type: 'string' }, scopes: { type: 'string' }, json: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  const [command, ...rest] = positionals;
  const noMore = (allowed: readonly string[]) => {
    const extra = Object.keys(values).find((option) => !allowed.includes(option));
    if (extra) throw new UsageError(`${command} takes no --${extra}`);
  };
  switch (command) {
    case 'create':
      noMore(['name', 'scopes']);
      if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`);
      if (!values.name || !values.scopes) throw new UsageError('create needs --name and --scopes');
      return { name: 'create', keyName: checkKeyName(values.name), scopes: parseScopes(values.scopes) };
    case 'list':
      noMore(['json']);
      if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`);
      return { name: 'list', json: values.json ?? false };
    case 'revoke':
    case 'rotate':
      noMore([]);
      if (rest.length !== 1) throw new UsageError(`${command} needs exactly one key id or name`);
      return { name: command, target: rest[0] };
    case undefined:
      throw new UsageError('a command is needed');
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

function describe(key: ServiceKey): string {
  const state = key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : 'live';
  return `${key.id}\t${key.name}\t${key.scopes.join(',')}\tcreated ${key.createdAt.toISOString()}\t${state}`;
}

async function run(store: ServiceKeyStore, command: Command): Promise<void> {
  const out = (text: string) => process.stdout.write(`${text}\n`);
  const note = (text: string) => process.stderr.write(`${text}\n`);
  switch (command.name) {
    case 'create': {
      const { key, secret } = await store.create(command.keyName, command.scopes);
      note(`created key ${key.id} "${key.name}" (${key.scopes.join(', ')}); it is shown only this once:`);
      out(secret);
      return;
    }
    case 'list': {
      const keys = await store.list();
      if (command.json) out(JSON.stringify(keys, null, 2));
      else if (keys.length === 0) note('no keys');
      else for (const key of keys) out(describe(key));
      return;
    }
    case 'revoke': {
      const key = await store.revoke(command.target);
      out(`revoked key ${key.id} "${key.name}"`);
      return;
    }
    case 'rotate': {
      const { key, secret } = await store.rotate(command.target);
      note(`rotated "${key.name}": the old key is revoked; the new key ${key.id} is shown only this once:`);
      out(secret);
      return;
    }
  }
}

async function main(argv: readonly string[]): Promise<number> {
  answerHelp(USAGE, argv);
  let command: Command;
  let config;
  try {
    command = parseCommand(argv);
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) process.stderr.write(`configuration error: ${error.message}\n`);
    else if (error instanceof DomainError) process.stderr.write(`${error.message}\n`);
    else if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))
      process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    else throw error;
    return 2;
  }
  await withCommandDatabase(
    config,
    (url) => openDatabase({ url, poolSize: 1 }),
    (dataSource) => run(new ServiceKeyStore(dataSource), command),
  );
  return 0;
}

runCommand('keys', () => main(process.argv.slice(2)));
