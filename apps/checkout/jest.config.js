import preset from '../../jest.preset.js';

export default { ...preset, displayName: 'checkout', rootDir: import.meta.dirname };
