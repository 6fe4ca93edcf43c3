// Preloaded into pool workers by pool.test.ts: makes WebAssembly compilation take as long as it does on a
// loaded machine (seconds, not milliseconds), so whatever runs while the tfjs wasm backend initialises
// shows up every run instead of 1 in 3.
const delayMs = Number(process.env.SLOW_WASM_DELAY_MS ?? 800);
const instantiate = WebAssembly.instantiate.bind(WebAssembly);
WebAssembly.instantiate = (...args) =>
  new Promise((resolve) => setTimeout(resolve, delayMs)).then(() => instantiate(...args));
