import preset from '../../jest.preset.js';

export default { ...preset, displayName: 'billing', rootDir: import.meta.dirname };
