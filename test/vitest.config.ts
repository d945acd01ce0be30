import { defineConfig } from 'vitest/config';
import RequirementsReporter from './helpers/requirements-reporter.js';

export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['test/**/*.test.ts'],
    // End-to-end files start real sshd fleets on fixed loopback addresses: one file at a time.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Last, so that what the end-to-end suite skipped on this machine is the last thing printed.
    reporters: ['default', new RequirementsReporter()],
  },
});
