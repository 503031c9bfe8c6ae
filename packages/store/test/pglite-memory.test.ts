import { defaultPgliteTemplatePath, openDatabase } from '../src/index.ts';
import { defineRepositorySuite } from './repository-suite.ts';

// The template skips initdb (~10 s) on every run after the first.
defineRepositorySuite('PGlite in memory', () =>
  openDatabase({ pgliteTemplate: defaultPgliteTemplatePath() }),
);
