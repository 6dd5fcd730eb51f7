// ESLint runs typescript-eslint's type-checked rules over the TypeScript (src, test, bench): they
// see what tsc lets through, such as a promise nobody awaits or one passed where a callback's
// result is ignored. The console's browser modules and the few plain JS/CJS files get the
// JavaScript rules with their own globals. Formatting is Prettier's job (eslint-config-prettier
// turns off the rules that would fight it).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'coverage/', 'dist/'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['vitest.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
      globals: globals.node,
    },
    rules: {
      // Fastify's hooks, plugins and handlers are either async or take a callback, async
      // iterables and Promise-returning interfaces are implemented without awaiting anything:
      // an async function with no await is the project's normal shape, not a slip. (Each of the
      // first findings was one of these; none was a missing await.)
      '@typescript-eslint/require-await': 'off',
      // Rethrowing a caught `unknown` (a stored failure of a parallel step) is right; throwing a
      // string or a plain object is still refused.
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingUnknown: true }],
      // Inside try, `return promise` without await skips the catch and finally blocks when it
      // rejects; elsewhere the await is noise.
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      // From the strict set, those that catch slips without restyling the code: a switch over a
      // union without a default must name every member (a new status cannot fall through
      // unnoticed), and no call to an API its package marks deprecated.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-deprecated': 'error',
      '@typescript-eslint/no-meaningless-void-operator': 'error',
      '@typescript-eslint/no-unnecessary-type-arguments': 'error',
    },
  },
  {
    // A test reads JSON answers as `any` and checks their shape with the expect() that follows:
    // typing every body would restate the assertions. The helpers in test/support/ keep the rules.
    files: ['test/*.test.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['bin/**/*.js', 'eslint.config.js'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
  },
  {
    files: ['src/console/public/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
  prettier,
);
