import { TestEnvironment } from 'jest-environment-node';

// Jest runs each test file in its own vm context, so its typed-array constructors differ from the ones the
// onnxruntime-node native binding uses for output tensors. onnxruntime-common then rejects those outputs
// ("A float32 tensor's data must be type of function Float32Array()") because it checks `instanceof`.
// jest-environment-node already shares ArrayBuffer and Uint8Array with the outer realm for the same kind of
// reason; this environment shares the remaining typed arrays. Opt in per file with a docblock:
// `@jest-environment <rootDir>/tests/engines/content/shared-typed-arrays-environment.ts`.
const TYPED_ARRAYS = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
];

export default class SharedTypedArraysEnvironment extends TestEnvironment {
  constructor(...args: ConstructorParameters<typeof TestEnvironment>) {
    super(...args);
    for (const constructor of TYPED_ARRAYS) {
      Object.defineProperty(this.global, constructor.name, {
        value: constructor,
        writable: true,
        configurable: true,
        enumerable: false,
      });
    }
  }
}
