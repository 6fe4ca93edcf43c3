import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  buildSchema,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  parse,
  TypeInfo,
  visit,
  visitWithTypeInfo,
} from 'graphql';

const ROOT = path.resolve(__dirname, '../..');
const OPERATIONS = path.join(ROOT, 'client/operations');

/**
 * The typed client reaches the whole API: every field of the committed schema, and every argument
 * of it, is used by some operation in client/operations. A field added to the schema without an
 * operation fails here: add a .graphql file there and run `npm run codegen`.
 */
describe('the client operations cover the schema', () => {
  const schema = buildSchema(readFileSync(path.join(ROOT, 'schema/schema.graphql'), 'utf8'));
  const used = new Set<string>();
  const typeInfo = new TypeInfo(schema);
  for (const file of readdirSync(OPERATIONS).filter((name) => name.endsWith('.graphql'))) {
    const document = parse(readFileSync(path.join(OPERATIONS, file), 'utf8'));
    visit(
      document,
      visitWithTypeInfo(typeInfo, {
        Field(node) {
          const parent = typeInfo.getParentType();
          if (!parent) return;
          used.add(`${parent.name}.${node.name.value}`);
          for (const arg of node.arguments ?? [])
            used.add(`${parent.name}.${node.name.value}(${arg.name.value})`);
        },
      }),
    );
  }

  it('selects every field and passes every argument somewhere', () => {
    const all: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (isIntrospectionType(type) || !(isObjectType(type) || isInterfaceType(type))) continue;
      for (const field of Object.values(type.getFields())) {
        all.push(`${type.name}.${field.name}`);
        for (const arg of field.args) all.push(`${type.name}.${field.name}(${arg.name})`);
      }
    }
    expect(all.length).toBeGreaterThan(50);
    expect(all.filter((item) => !used.has(item))).toEqual([]);
  });
});
