import { CoreCatalog1764000000000 } from './1764000000000-CoreCatalog';

/** Every migration, oldest first; listed explicitly so they load the same under ts and compiled js. */
export const migrations = [CoreCatalog1764000000000];
