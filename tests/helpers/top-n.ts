/** The item factors of a PureSVD or iALS top-N model; fails the test for an EASE model, which has none. */
export function factorsOf(
  model: { readonly kind: string } & ({ readonly itemFactors: Float32Array } | object),
): Float32Array {
  if (!('itemFactors' in model)) throw new Error(`a ${model.kind} top-N model has no item factors`);
  return model.itemFactors;
}
