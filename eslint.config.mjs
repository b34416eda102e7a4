// One lint configuration for the whole repository (npm run lint). Formatting is prettier's job,
// so nothing here is about layout.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['**/node_modules/', '**/dist/', '**/build/', '.nx/', 'libs/comm/src/gen/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // Unused names are compile errors already (tsconfig noUnusedLocals); `_x` marks one on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      'no-var': 'error',
      // Generic constraints over tracepoint arities need `any` (Field<T> and emit's arguments are not covariant).
      '@typescript-eslint/no-explicit-any': 'off',
      // A lazy require() keeps a module off the CLI's start-up path; the native addon is a require() too.
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
