import preset from '../../jest.preset.js';

export default { ...preset, displayName: 'email', rootDir: import.meta.dirname };
