// Nothing beyond entry and output: webpack 5 finds the TLS worker and the .wasm by itself
// (new Worker(new URL(…, import.meta.url)) and new URL(…, import.meta.url) in the package).
const path = require('node:path');

module.exports = {
  mode: 'production',
  entry: './src/index.js',
  output: { path: path.resolve(__dirname, 'dist'), clean: true },
};
