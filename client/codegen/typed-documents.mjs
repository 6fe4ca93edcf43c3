// graphql-codegen plugin (codegen.yml): a typed document per operation, holding the operation's text.
//
// Why not @graphql-codegen/typed-document-node: its documents are graphql-js ASTs (printing them
// needs `graphql` at runtime) or TypedDocumentString instances, and both type-import
// @graphql-typed-document-node/core, so a consumer without that package gets `unknown` results.
// These documents are plain objects typed by ../document.ts: the client ships without dependencies.
import { Kind, print, visit } from 'graphql';

/** Names typescript-operations gives the result and variables types: <Name><Query|Mutation|…>. */
const PASCAL_CASE = /^[A-Z][A-Za-z0-9]*$/;

const spreadNames = (node) => {
  const names = [];
  visit(node, {
    FragmentSpread(spread) {
      names.push(spread.name.value);
    },
  });
  return names;
};

/** A template literal where the text allows one (readable in the generated file), else a JSON string. */
const literal = (text) => (/[`\\]|\$\{/.test(text) ? JSON.stringify(text) : `\`${text}\``);

export const plugin = (_schema, documents) => {
  const fragments = new Map();
  const operations = [];
  for (const file of documents)
    for (const definition of file.document?.definitions ?? []) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
      else if (definition.kind === Kind.OPERATION_DEFINITION) operations.push(definition);
    }

  const fragmentsOf = (operation) => {
    const seen = new Set();
    const queue = spreadNames(operation);
    while (queue.length) {
      const name = queue.shift();
      if (seen.has(name)) continue;
      const fragment = fragments.get(name);
      if (!fragment) throw new Error(`fragment ${name} is spread but not defined`);
      seen.add(name);
      queue.push(...spreadNames(fragment));
    }
    return [...seen].sort().map((name) => fragments.get(name));
  };

  const content = operations.map((operation) => {
    const name = operation.name?.value;
    if (!name || !PASCAL_CASE.test(name))
      throw new Error(`every operation needs a PascalCase name (got ${name ?? 'an anonymous one'})`);
    const type = `${name}${operation.operation[0].toUpperCase()}${operation.operation.slice(1)}`;
    const text = [operation, ...fragmentsOf(operation)].map((node) => print(node)).join('\n\n');
    return [
      `export const ${name}Document: TypedDocument<${type}, ${type}Variables> = {`,
      `  operationName: '${name}',`,
      `  operationType: '${operation.operation}',`,
      `  query: ${literal(text)},`,
      `};`,
    ].join('\n');
  });
  return {
    prepend: ["import type { TypedDocument } from '../document.js';"],
    content: content.join('\n\n') + '\n',
  };
};
