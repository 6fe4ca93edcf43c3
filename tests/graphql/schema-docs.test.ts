import {
  GraphQLSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
} from 'graphql';
import { MAX_PAGE_SIZE } from '../../src/graphql/errors';
import { buildGraphQLSchema } from '../../src/graphql/schema';

/** Every type, field, argument, input field and enum value of the schema, by a readable path. */
function documentable(schema: GraphQLSchema): { path: string; description: string | null | undefined }[] {
  const found: { path: string; description: string | null | undefined }[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (isIntrospectionType(type)) continue;
    found.push({ path: type.name, description: type.description });
    if (isObjectType(type) || isInterfaceType(type))
      for (const field of Object.values(type.getFields())) {
        found.push({ path: `${type.name}.${field.name}`, description: field.description });
        for (const arg of field.args)
          found.push({ path: `${type.name}.${field.name}(${arg.name})`, description: arg.description });
      }
    if (isInputObjectType(type))
      for (const field of Object.values(type.getFields()))
        found.push({ path: `${type.name}.${field.name}`, description: field.description });
    if (isEnumType(type))
      for (const value of type.getValues())
        found.push({ path: `${type.name}.${value.name}`, description: value.description });
  }
  return found;
}

describe('the schema documents itself', () => {
  let schema: GraphQLSchema;

  beforeAll(async () => {
    schema = await buildGraphQLSchema();
  });

  it('describes every type, field, argument, input field and enum value', () => {
    const items = documentable(schema);
    expect(items.length).toBeGreaterThan(100);
    const undocumented = items.filter((item) => !item.description?.trim()).map((item) => item.path);
    expect(undocumented).toEqual([]);
  });

  it('states the page-size limit on every `first` argument', () => {
    const pageArgs = documentable(schema).filter((item) => item.path.endsWith('(first)'));
    expect(pageArgs.length).toBeGreaterThan(5);
    const silent = pageArgs.filter((item) => !item.description?.includes(`1 to ${MAX_PAGE_SIZE}`));
    expect(silent.map((item) => item.path)).toEqual([]);
  });
});
