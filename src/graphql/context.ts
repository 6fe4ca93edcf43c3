import { createLoaders, Loaders, Services } from './loaders';

export interface GraphQLContext {
  services: Services;
  loaders: Loaders;
}

export function createContext(services: Services): GraphQLContext {
  return { services, loaders: createLoaders(services) };
}
