/* global module */
/**
 * Import rules for src/, checked by `npm run lint` (dependency-cruiser). `tsPreCompilationDeps`
 * makes type-only imports count: a cycle through types still means two modules cannot be read or
 * changed one without the other.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles among src/ files, type imports included.',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(build|dist|node_modules)/' },
  },
};
