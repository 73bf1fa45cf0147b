import preset from '../../jest.preset.js';

export default { ...preset, displayName: 'analytics', rootDir: import.meta.dirname };
