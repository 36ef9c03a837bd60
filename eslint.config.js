// ESLint for the TypeScript (src/) and the JavaScript around it (tests, bench, fuzz, examples,
// scripts): the recommended rules of ESLint and typescript-eslint. Formatting is Prettier's
// (.prettierrc.json), C formatting clang-format's (.clang-format); `npm run lint` runs all three.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // Build outputs (see .gitignore), and what scripts/gen-ffi.mjs and emscripten write.
    ignores: [
      'node_modules/',
      'lib/',
      'dist/',
      'wasm/dist/',
      'wasm/dist-debug/',
      'bench/dist/',
      'docs/api/',
      '.build/',
      'test-results/',
      // What tests make in the tree while they run (see .gitignore): snippet projects, bundled apps.
      'test/.readme-*/',
      'test/.bundlers-*/',
      'src/core/ffi.ts',
      'src/core/ffi-imports.ts',
    ],
  },
  js.configs.recommended,
  {
    files: ['**/*.{js,mjs}'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
  {
    files: ['src/**/*.ts'],
    extends: [tseslint.configs.recommended],
  },
);
