// The whole suite in one run: every project's jest.config.js is a Jest project.
export default {
  projects: ['<rootDir>/libs/*/jest.config.js', '<rootDir>/apps/*/jest.config.js', '<rootDir>/tools/jest.config.js'],
  // A global option: Jest ignores it in project configs. End-to-end specs start processes.
  testTimeout: 60_000,
};
