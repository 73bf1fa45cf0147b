import preset from '../../jest.preset.js';

export default { ...preset, displayName: 'messaging-kafka', rootDir: import.meta.dirname };
