import { readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * GraphiQL served by the API itself from installed packages, so the playground works offline
 * and never loads code from a CDN.
 */
const ASSETS: Record<string, { pkg: string; file: string; type: string }> = {
  'react.js': { pkg: 'react', file: 'umd/react.production.min.js', type: 'text/javascript' },
  'react-dom.js': { pkg: 'react-dom', file: 'umd/react-dom.production.min.js', type: 'text/javascript' },
  'graphiql.js': { pkg: 'graphiql', file: 'graphiql.min.js', type: 'text/javascript' },
  'graphiql.css': { pkg: 'graphiql', file: 'graphiql.min.css', type: 'text/css' },
};

export const PLAYGROUND_ASSET_PREFIX = '/graphiql/';

export const DEFAULT_QUERY = `# Welcome to Cinegraph. Try:
query Trending {
  trending(first: 5) { movie { title year genres } score votes }
}

query Recommendations {
  recommendations(userId: 1, first: 5) {
    rank score strategyUsed
    movie { title year }
    engineScores { collaborative content statistical }
    explanation { text basedOn { title } }
  }
}
`;

export function playgroundHtml(endpoint: string): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <title>Cinegraph · GraphiQL</title>
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <link rel="stylesheet" href="${PLAYGROUND_ASSET_PREFIX}graphiql.css" />
  <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="${PLAYGROUND_ASSET_PREFIX}react.js"></script>
  <script src="${PLAYGROUND_ASSET_PREFIX}react-dom.js"></script>
  <script src="${PLAYGROUND_ASSET_PREFIX}graphiql.js"></script>
  <script>
    const fetcher = GraphiQL.createFetcher({ url: ${JSON.stringify(endpoint)} });
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, {
        fetcher,
        defaultQuery: ${JSON.stringify(DEFAULT_QUERY)},
        defaultEditorToolsVisibility: true,
      }),
    );
  </script>
</body>
</html>`;
}

const cache = new Map<string, Buffer>();

export async function playgroundAsset(name: string): Promise<{ body: Buffer; type: string } | null> {
  const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
  if (!asset) return null;
  let body = cache.get(name);
  if (!body) {
    // The UMD builds are not in the packages' export maps, so resolve the package root instead.
    body = await readFile(path.join(path.dirname(require.resolve(`${asset.pkg}/package.json`)), asset.file));
    cache.set(name, body);
  }
  return { body, type: asset.type };
}

/** A browser asking for HTML gets the playground; API clients get GraphQL over HTTP. */
export function wantsPlayground(
  method: string | undefined,
  accept: string | undefined,
  search: string,
): boolean {
  if (method !== 'GET' || !accept) return false;
  if (new URLSearchParams(search).has('query')) return false;
  return accept.split(',').some((part) => part.trim().startsWith('text/html'));
}
